//! Shared setup for the integration tests: the real daprd (built once into
//! the cache), the guest modules, the binary under test, and process checks.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use blueprint_bench::daprd::{self, Daprd};
use blueprint_bench::{paths, workloads};

/// daprd, built from the wrapper module on first use (or `$DAPRD`).
pub fn daprd() -> Daprd {
    static DAPRD: OnceLock<Daprd> = OnceLock::new();
    DAPRD
        .get_or_init(|| {
            let explicit = std::env::var_os("DAPRD").map(PathBuf::from);
            daprd::resolve(explicit.as_deref()).expect("daprd must be available")
        })
        .clone()
}

/// Rust guest modules by workload.
pub fn guests() -> BTreeMap<String, PathBuf> {
    all_guests()
        .into_iter()
        .filter(|((language, _), _)| language == "rust")
        .map(|((_, workload), path)| (workload, path))
        .collect()
}

/// Every language's guest modules of every flavour. Every language's
/// toolchain is part of this project's setup, so all must build.
pub fn catalog() -> workloads::Catalog {
    static CATALOG: OnceLock<workloads::Catalog> = OnceLock::new();
    CATALOG
        .get_or_init(|| {
            let catalog =
                workloads::build_all(&paths::project_dir(), &paths::cache_dir()).expect("guests build");
            assert!(
                catalog.unavailable.is_empty(),
                "languages without a toolchain: {:?}",
                catalog.unavailable
            );
            catalog
        })
        .clone()
}

/// Every language's embedded-flavour modules, by (language, workload).
pub fn all_guests() -> BTreeMap<(String, String), PathBuf> {
    catalog().of_flavour(workloads::Flavour::Embedded)
}

/// The `blueprint-bench` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_blueprint-bench"))
}

/// Pids of the live (non-zombie) direct children of `pid`.
pub fn children_of(pid: u32) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command: state, ppid, …
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 1 && fields[1] == pid.to_string() && fields[0] != "Z" {
            out.insert(child);
        }
    }
    out
}

/// Whether `pid` is alive and not a zombie.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.split_whitespace().next() != Some("Z"))
        })
        .unwrap_or(false)
}

/// A scenario file in `dir` with the given body after the `[scenario]` table.
pub fn scenario(dir: &std::path::Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("[scenario]\nname = \"{name}\"\n\n{body}")).unwrap();
    path
}

/// A scenario body of one cheap cell: `noop` embedded on wasmtime, two
/// connections, a one-second window.
pub const ONE_CELL: &str = r#"
[matrix]
workloads = ["noop"]
modes = ["embedded"]
runtimes = ["wasmtime"]

[load]
connections = 2
warmup = "100ms"
duration = "1s"
"#;

/// `blueprint-bench` with `args`, on the test's daprd, without stdin, and
/// without the host's added-latency knob (a test adds it where it means to).
pub fn harness(args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(bin());
    cmd.args(args)
        .env("DAPRD", daprd().path)
        .env_remove(blueprint_host::server::ADDED_LATENCY_ENV)
        .stdin(std::process::Stdio::null());
    cmd
}

/// Runs `cmd` to its end; a failure fails the test with `what` and the
/// command's stderr.
pub fn output_ok(cmd: &mut std::process::Command, what: &str) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
