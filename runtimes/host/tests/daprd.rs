//! The host against a real daprd (`blueprint-bench daprd` builds it into
//! `~/.cache/blueprint-bench/daprd/`; `$DAPRD` points at another): first
//! requests right after start-up all reach Dapr. Skipped, saying how to get
//! daprd, when there is none.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blueprint_host::dapr_grpc::GrpcDapr;
use blueprint_runtime_api::DaprHost;
use common::{free_port, guest, request, start};

fn find_daprd() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DAPRD") {
        return Some(path.into());
    }
    let home = std::env::var_os("HOME")?;
    let dir = PathBuf::from(home).join(".cache/blueprint-bench/daprd");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("daprd"))
        .find(|p| p.is_file())
}

/// daprd with an in-memory state store, killed on drop.
struct Daprd {
    child: Child,
    http: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Daprd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_daprd(path: &PathBuf, grpc: Option<u16>) -> Daprd {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("resources")).unwrap();
    std::fs::write(
        dir.path().join("resources/statestore.yaml"),
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: statestore\nspec:\n  type: state.in-memory\n  version: v1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        format!(
            "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: t\nspec:\n  nameResolution:\n    component: sqlite\n    version: v1\n    configuration:\n      connectionString: \"{}\"\n",
            dir.path().join("nr.db").display()
        ),
    )
    .unwrap();
    let (grpc, http) = (grpc.unwrap_or_else(free_port), free_port());
    let log = std::fs::File::create(dir.path().join("daprd.log")).unwrap();
    let child = Command::new(path)
        .current_dir(dir.path())
        .args(["--mode", "standalone", "--app-id", "host-test"])
        .args([
            "--dapr-grpc-port",
            &grpc.to_string(),
            "--dapr-http-port",
            &http.to_string(),
        ])
        .args(["--dapr-internal-grpc-port", &free_port().to_string()])
        .args(["--metrics-port", &free_port().to_string()])
        .args([
            "--dapr-listen-addresses",
            "127.0.0.1",
            "--dapr-internal-grpc-listen-address",
            "127.0.0.1",
        ])
        .args(["--metrics-listen-address", "127.0.0.1"])
        .args(["--resources-path", "resources", "--config", "config.yaml"])
        .args(["--log-level", "warn", "--enable-profiling=false"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    Daprd {
        child,
        http,
        _dir: dir,
    }
}

fn wait_ready(daprd: &Daprd) {
    let addr = format!("127.0.0.1:{}", daprd.http).parse().unwrap();
    let began = Instant::now();
    while !matches!(request(addr, "GET", "/v1.0/healthz", &[], b"").0, 200..=299) {
        assert!(began.elapsed() < Duration::from_secs(60), "daprd not ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

macro_rules! daprd_or_skip {
    () => {
        match find_daprd() {
            Some(path) => path,
            None => {
                eprintln!(
                    "skipped: no daprd in ~/.cache/blueprint-bench/daprd/ (build it with \
                     `cargo run --release -p blueprint-bench -- daprd`, or set DAPRD)"
                );
                return;
            }
        }
    };
}

/// `state_get("statestore", "k")`: "pong" when it reached Dapr (a value or
/// NOT_FOUND), the error "fail" otherwise.
fn reader() -> String {
    guest(
        r#"(import "dapr" "state_get" (func $get (param i32 i32 i32 i32) (result i64)))
           (data (i32.const 0) "statestore")
           (data (i32.const 20) "k")
           (data (i32.const 110) "fail")"#,
        r#"(if (i64.lt_s (call $get (i32.const 0) (i32.const 10) (i32.const 20) (i32.const 1)) (i64.const -1))
             (then (return (i64.const 0x0000006E80000004))))
           i64.const 0x0000006400000004"#,
    )
}

/// Eight calls at once on a fresh client, made while daprd is still
/// starting (an app is started first): they wait for the one connection
/// attempt, which retries until daprd listens, instead of failing with
/// "connection refused".
#[test]
fn concurrent_first_calls_made_while_daprd_starts_all_reach_it() {
    let path = daprd_or_skip!();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let grpc = free_port();
    let dapr =
        std::sync::Arc::new(GrpcDapr::new(grpc, rt.handle().clone(), Duration::from_secs(10)).unwrap());
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(9));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (dapr, barrier) = (dapr.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                dapr.state_get("statestore", "k")
            })
        })
        .collect();
    barrier.wait();
    std::thread::sleep(Duration::from_millis(100));
    let began = Instant::now();
    let daprd = start_daprd(&path, Some(grpc));
    for call in calls {
        let result = call.join().unwrap();
        assert!(
            result.is_ok(),
            "{result:?} ({:?} after daprd's start)",
            began.elapsed()
        );
    }
    assert!(dapr.is_connected());
    drop(daprd);
}

#[test]
fn a_host_started_before_daprd_answers_its_first_concurrent_requests() {
    let path = daprd_or_skip!();
    // As a run does: the app first, daprd after it.
    let grpc = free_port();
    let host = start("wasmtime", &[("reader", reader())], |a| {
        a.dapr_grpc_port = Some(grpc)
    });
    std::thread::sleep(Duration::from_millis(300));
    let daprd = start_daprd(&path, Some(grpc));
    wait_ready(&daprd);
    let addr = host.addr;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                request(addr, "POST", "/reader", &[], b"")
            })
        })
        .collect();
    for call in calls {
        let (status, body) = call.join().unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
}
