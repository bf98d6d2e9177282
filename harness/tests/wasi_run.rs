//! Every runtime's WASI preview 1, checked the same way: the probe commands
//! in `runtimes/api/tests/wasi-probes/` run through `blueprint-bench
//! wasi-run --runtime <name>` on every runtime, and their output, exit codes
//! and the files they write must be the same everywhere.
//!
//! WasmEdge is covered when this build has its adapter (the `wasmedge`
//! feature); otherwise `wasmedge_is_covered_or_says_why` says so in the test
//! output with the reason, and every other test names the runtimes it ran.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use blueprint_bench::paths;
use blueprint_host::table::{self as runtimes, Availability};

/// The runtimes every probe runs on: every available one.
fn runtimes() -> Vec<&'static str> {
    let mut names = vec!["wasmtime", "wasmer", "wasmer-singlepass", "wazero"];
    if runtimes::entry("wasmedge").unwrap().availability == Availability::Available {
        names.push("wasmedge");
    }
    names
}

/// Builds the probe commands (cargo is incremental: a second when unchanged).
fn probe(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let project = paths::project_dir();
        let target = paths::cache_dir().join("guests/wasi-probes");
        common::output_ok(
            &mut blueprint_workloads::cargo_for(
                "build",
                "wasm32-wasip1",
                &project.join("runtimes/api/tests/wasi-probes/Cargo.toml"),
                &target,
            ),
            "building the WASI probes",
        );
        target.join("wasm32-wasip1/release")
    });
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// `blueprint-bench wasi-run --runtime <runtime> <flags…> <module> <args…>`
/// with `stdin` as its standard input.
fn wasi_run(runtime: &str, flags: &[&str], module: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(common::bin())
        .args(["wasi-run", "--runtime", runtime])
        .args(flags)
        .arg(module)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting blueprint-bench");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts the exit code, showing both streams when it differs.
fn assert_code(runtime: &str, out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{runtime}: exit code\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of `key=…` lines in a probe's output.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn arguments_reach_the_guest_verbatim() {
    let module = probe("args");
    let args = ["plain", "with space", "--looks-like-a-flag", "ünïcødé", ""];
    for runtime in runtimes() {
        let out = wasi_run(runtime, &[], &module, &args, b"");
        assert_code(runtime, &out, 0);
        let mut expected = format!("argc={}\nargv[0]={}\n", args.len() + 1, module.display());
        for (i, arg) in args.iter().enumerate() {
            expected.push_str(&format!("argv[{}]={arg}\n", i + 1));
        }
        assert_eq!(stdout(&out), expected, "{runtime}");
    }
}

#[test]
fn the_environment_is_exactly_what_was_given() {
    let module = probe("env");
    let flags = ["--env", "FIRST=1", "--env", "EQUALS=a=b", "--env", "EMPTY="];
    for runtime in runtimes() {
        let out = wasi_run(runtime, &flags, &module, &["EQUALS"], b"");
        assert_code(runtime, &out, 0);
        assert_eq!(
            stdout(&out),
            "FIRST=1\nEQUALS=a=b\nEMPTY=\ncount=3\nlookup=a=b\n",
            "{runtime}: the environment must be exactly the --env values, in order"
        );
    }
}

#[test]
fn clocks_are_real_and_monotonic() {
    let module = probe("clock");
    for runtime in runtimes() {
        let out = wasi_run(runtime, &[], &module, &[], b"");
        assert_code(runtime, &out, 0);
        let text = stdout(&out);
        let guest: u64 = field(&text, "realtime_s").expect("realtime_s").parse().unwrap();
        let host = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            host.abs_diff(guest) < 120,
            "{runtime}: guest realtime {guest}, host {host}"
        );
        assert_eq!(field(&text, "monotonic"), Some("ok"), "{runtime}");
    }
}

#[test]
fn random_bytes_differ_between_draws_and_runs() {
    let module = probe("random");
    for runtime in runtimes() {
        let draw = || {
            let out = wasi_run(runtime, &[], &module, &[], b"");
            assert_code(runtime, &out, 0);
            let text = stdout(&out);
            (
                field(&text, "draw1").unwrap().to_owned(),
                field(&text, "draw2").unwrap().to_owned(),
            )
        };
        let (a, b) = (draw(), draw());
        assert_eq!(a.0.len(), 64, "{runtime}");
        assert_ne!(a, b, "{runtime}: two runs drew the same bytes (a fixed seed?)");
    }
}

#[test]
fn a_preopened_directory_is_read_and_written_and_cannot_be_left() {
    let module = probe("files");
    for runtime in runtimes() {
        let outside = tempfile::tempdir().unwrap();
        let dir = outside.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("input.txt"), "hello wasi\n").unwrap();
        std::fs::write(outside.path().join("escape.txt"), "secret\n").unwrap();
        let flag = format!("{}::/data", dir.display());
        let out = wasi_run(runtime, &["--dir", &flag], &module, &["/data"], b"");
        assert_code(runtime, &out, 0);
        assert_eq!(
            stdout(&out),
            "input=hello wasi\noutput_len=11\nseek=ok\nnested=ok\nmissing=NotFound\nescape=denied\n",
            "{runtime}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("output.txt")).unwrap(),
            "isaw olleh\nappended\n",
            "{runtime}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("sub/nested.txt")).unwrap(),
            "nested\n",
            "{runtime}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("input.txt")).unwrap(),
            "hello wasi\n",
            "{runtime}: the input was changed"
        );
    }
}

/// Whether this build's Wasmer runs commands on `wasmer-wasix`, Wasmer's own
/// WASI (the `wasmer-wasix` feature, which the test command turns on), or
/// on the adapter's subset, which has no `fd_readdir` or `path_rename`.
fn wasmer_has_its_own_wasi(runtime: &str) -> bool {
    !runtime.starts_with("wasmer") || cfg!(feature = "wasmer-wasix")
}

#[test]
fn a_preopened_directory_is_listed_and_its_entries_renamed() {
    let module = probe("dirs");
    for runtime in runtimes() {
        let outside = tempfile::tempdir().unwrap();
        let dir = outside.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), "ay\n").unwrap();
        let flag = format!("{}::/data", dir.display());
        let out = wasi_run(runtime, &["--dir", &flag], &module, &["/data"], b"");
        if !wasmer_has_its_own_wasi(runtime) {
            // The subset refuses the module before it runs, naming what it lacks.
            assert_code(runtime, &out, 125);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("fd_readdir") || stderr.contains("path_rename"),
                "{runtime}: {stderr}"
            );
            eprintln!(
                "wasi-run dirs probe NOT covered on {runtime}: built without `--features wasmer-wasix`"
            );
            continue;
        }
        assert_code(runtime, &out, 0);
        assert_eq!(
            stdout(&out),
            "before=a.txt,b.txt,sub/\nafter=c.txt,sub/\nsub=moved.txt\nmoved=ay\nremoved=sub/\nescape=denied\n",
            "{runtime}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("sub/moved.txt")).unwrap(),
            "ay\n",
            "{runtime}"
        );
        let mut left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["sub"], "{runtime}: what the guest left in the directory");
        assert!(
            !outside.path().join("escaped.txt").exists(),
            "{runtime}: a rename left the preopened directory"
        );
    }
}

#[test]
fn wasmer_runs_commands_on_wasmer_wasix_or_says_why() {
    let out = wasi_run("wasmer", &[], &probe("args"), &[], b"");
    assert_code("wasmer", &out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if cfg!(feature = "wasmer-wasix") {
        assert!(!stderr.contains("note:"), "{stderr}");
        assert!(
            blueprint_runtime_wasmer::COMMAND_WASI.starts_with("wasmer-wasix 0."),
            "{}",
            blueprint_runtime_wasmer::COMMAND_WASI
        );
    } else {
        assert!(
            stderr.contains("harness WASI subset") && stderr.contains("--features wasmer-wasix"),
            "{stderr}"
        );
        eprintln!("wasi-run on wasmer: the harness WASI subset (built without `--features wasmer-wasix`)");
    }
}

#[test]
fn exit_codes_traps_and_the_time_limit_become_the_process_exit_code() {
    let module = probe("exit");
    // 64 pages (4 MiB) so `grow`'s 256 MiB allocation is refused.
    let small = ["--max-memory-pages", "64"];
    let cases: [(&[&str], &[&str], i32); 6] = [
        (&[], &["return"], 0),
        (&[], &["code", "0"], 0),
        (&[], &["code", "7"], 7),
        (&[], &["code", "255"], 255),
        (&[], &["trap"], 134),
        (&small, &["grow"], 134),
    ];
    for runtime in runtimes() {
        for (flags, args, code) in cases {
            // A documented difference (README.md, wasi-run): wasmtime-wasi's
            // proc_exit traps for a status of 126 or more, which shells
            // reserve, instead of exiting with it.
            let code = if runtime == "wasmtime" && args == ["code", "255"] {
                134
            } else {
                code
            };
            let out = wasi_run(runtime, flags, &module, args, b"");
            assert_code(&format!("{runtime} {args:?}"), &out, code);
            assert_eq!(
                stdout(&out).lines().next(),
                Some(format!("mode={}", args[0]).as_str())
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            if code == 134 {
                assert!(stderr.contains("trap"), "{runtime} {args:?}: {stderr}");
            }
            if args[0] == "code" && code == 134 {
                assert!(stderr.contains("invalid exit status"), "{runtime}: {stderr}");
            }
        }
        let started = std::time::Instant::now();
        let out = wasi_run(runtime, &["--timeout-ms", "300"], &module, &["loop"], b"");
        assert_code(&format!("{runtime} loop"), &out, 124);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("timeout"),
            "{runtime}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Bounded, not timed: a limit that did not stop the loop would hang.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{runtime}"
        );
    }
}

#[test]
fn stdin_is_passed_through_to_stdout() {
    let module = probe("echo");
    let input: Vec<u8> = (0..100_000u32)
        .map(|i| b"abcdefghij\n"[i as usize % 11])
        .collect();
    for runtime in runtimes() {
        let out = wasi_run(runtime, &[], &module, &[], &input);
        assert_code(runtime, &out, 0);
        assert!(out.stdout == input, "{runtime}: stdout differs from stdin");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("echoed={}", input.len())),
            "{runtime}: {stderr}"
        );
    }
}

#[test]
fn a_module_that_cannot_run_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.wasm");
    let wat =
        r#"(module (import "env" "foreign" (func)) (memory (export "memory") 1) (func (export "_start")))"#;
    std::fs::write(&foreign, wat::parse_str(wat).unwrap()).unwrap();
    let reactor = dir.path().join("reactor.wasm");
    std::fs::write(
        &reactor,
        wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap(),
    )
    .unwrap();
    for runtime in runtimes() {
        let out = wasi_run(runtime, &[], &foreign, &[], b"");
        assert_code(runtime, &out, 125);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("foreign"), "{runtime}: {stderr}");
        let out = wasi_run(runtime, &[], &reactor, &[], b"");
        assert_code(runtime, &out, 125);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("_start"), "{runtime}: {stderr}");
    }
}

#[test]
fn wasmedge_is_covered_or_says_why() {
    match runtimes::entry("wasmedge").unwrap().availability {
        Availability::Available => {
            assert!(runtimes().contains(&"wasmedge"));
            eprintln!("wasi-run probes: wasmedge covered");
        }
        Availability::Unavailable { reason, fix } => {
            assert!(!reason.is_empty() && !fix.is_empty());
            eprintln!("wasi-run probes NOT covered on wasmedge: {reason} (fix: {fix})");
            // The command says the same instead of running anything.
            let out = wasi_run("wasmedge", &[], &probe("args"), &[], b"");
            assert_code("wasmedge", &out, 1);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("unavailable"), "{stderr}");
        }
    }
}
