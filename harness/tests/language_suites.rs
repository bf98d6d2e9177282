//! The other languages' test suites (the wazero host, the Go and Rust guest
//! libraries), run from here so that the one test command covers them, with
//! every optional input set: a real daprd, the built guests and the built
//! wazero host. With those set, their skips turn into real checks.

mod common;

use std::path::Path;
use std::process::Command;

use blueprint_bench::{go_host, paths};

/// The suites start servers and daprd and time them; running two at once on a
/// small machine only makes them compete, so they take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn go_test(dir: &Path, envs: &[(&str, &Path)]) {
    let _turn = turn();
    let mut cmd = go_host::go_command(&paths::cache_dir(), dir);
    cmd.args(["test", "-count=1", "./..."]);
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("go must be installed: it builds daprd too");
    assert!(
        out.status.success(),
        "go test in {} failed:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ok "), "no Go package reported ok:\n{stdout}");
}

fn dir_of(path: &Path) -> &Path {
    path.parent().expect("a module lives in a folder")
}

#[test]
fn wazero_host_suite_passes_against_a_real_daprd() {
    let daprd = common::daprd();
    let rust_guests = common::guests();
    let project = paths::project_dir();
    // Every language's guests, for the check that a reused instance answers
    // like a fresh one.
    let all = common::all_guests();
    let all_dirs: std::collections::BTreeSet<&Path> = all.values().map(|p| dir_of(p)).collect();
    let all_dirs = std::env::join_paths(all_dirs).unwrap();
    go_test(
        &go_host::source_dir(&project),
        &[
            ("BLUEPRINT_GUEST_DIR", dir_of(&rust_guests["noop"])),
            ("BLUEPRINT_REUSE_GUEST_DIRS", Path::new(&all_dirs)),
            ("BLUEPRINT_DAPRD", &daprd.path),
        ],
    );
}

#[test]
fn go_guest_suite_passes_on_the_wazero_host_and_daprd() {
    let daprd = common::daprd();
    let guests = common::all_guests();
    let project = paths::project_dir();
    let host = go_host::build(&project, &paths::cache_dir()).unwrap();
    let go_dir = dir_of(&guests[&("go".to_owned(), "noop".to_owned())]).to_owned();
    let rust_dir = dir_of(&guests[&("rust".to_owned(), "noop".to_owned())]).to_owned();
    go_test(
        &project.join("workloads/go"),
        &[
            ("BLUEPRINT_WAZERO_HOST", &host),
            ("BLUEPRINT_DAPRD", &daprd.path),
            ("BLUEPRINT_GO_GUEST_DIR", &go_dir),
            ("BLUEPRINT_RUST_GUEST_DIR", &rust_dir),
        ],
    );
}

#[test]
fn rust_guest_library_unit_tests_pass() {
    // The guest workspace targets wasm32 by default; its unit tests (packing,
    // the allocator arena, parsing) run natively.
    let _turn = turn();
    let project = paths::project_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "test",
            "--release",
            "--target",
            env!("BLUEPRINT_HOST_TARGET"),
            "--manifest-path",
        ])
        .arg(project.join("workloads/rust/Cargo.toml"))
        .arg("--target-dir")
        .arg(paths::cache_dir().join("guests/rust-native"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("test result: ok"), "{stdout}");
}
