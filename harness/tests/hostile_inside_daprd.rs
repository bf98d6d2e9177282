//! Hostile guests where daprd runs them itself: an http-wasm middleware
//! (`middleware.http.wasm`) and a WASI command behind `bindings.wasm`, both
//! on the wazero inside daprd. Their limits are Dapr's, not ours (the
//! components take no time limit or memory cap from us), so this test holds
//! the harness to what it can promise — a request to such a guest ends at the
//! client's time limit, the system is stopped afterwards with nothing left
//! running — and prints what daprd did: how long the attack took, daprd's
//! CPU in the two seconds after the client gave up, its RSS, and whether it
//! still served a plain request. `results/README.md` keeps those figures.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use blueprint_bench::blueprint;
use blueprint_bench::meter::rss_bytes;
use blueprint_bench::paths;
use blueprint_bench::scenario::{CellId, DaprSettings};
use blueprint_bench::workloads::{self, Catalog, CustomWorkload, Flavour};
use blueprint_load::{LoadSpec, Target};
use bytes::Bytes;

/// The middleware: reads the request body's first byte. `l` loops for ever,
/// `w` writes to stdout for ever, `d` recurses without end, `b` grows its
/// memory 1 MiB at a time, writing it, until refused; anything else passes
/// the request on to the app.
const MIDDLEWARE: &str = r#"(module
  (import "http_handler" "read_body" (func $read (param i32 i32 i32) (result i64)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "chatter chatter chatter chatter ")
  (func $deep (param i32) (result i32)
    (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "handle_request") (result i64)
    (local $kind i32) (local $old i32)
    (drop (call $read (i32.const 0) (i32.const 1024) (i32.const 1)))
    (local.set $kind (i32.load8_u (i32.const 1024)))
    (if (i32.eq (local.get $kind) (i32.const 108)) (then (loop $spin (br $spin))))
    (if (i32.eq (local.get $kind) (i32.const 119)) (then
      (i32.store (i32.const 0) (i32.const 100))
      (i32.store (i32.const 4) (i32.const 32))
      (loop $chatter
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br $chatter))))
    (if (i32.eq (local.get $kind) (i32.const 100)) (then (drop (call $deep (i32.const 0)))))
    (if (i32.eq (local.get $kind) (i32.const 98)) (then
      (loop $grow
        (local.set $old (memory.grow (i32.const 16)))
        (if (i32.ne (local.get $old) (i32.const -1)) (then
          (memory.fill (i32.mul (local.get $old) (i32.const 65536)) (i32.const 1) (i32.const 1048576))
          (br $grow))))
      unreachable))
    (i64.const 1))
  (func (export "handle_response") (param i32 i32)))"#;

/// The binding's command: the same attacks on the first byte of stdin;
/// anything else writes "pong".
const COMMAND: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "chatter chatter chatter chatter ")
  (data (i32.const 200) "pong")
  (func $deep (param i32) (result i32)
    (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "_start")
    (local $kind i32) (local $old i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (local.set $kind (i32.load8_u (i32.const 1024)))
    (if (i32.eq (local.get $kind) (i32.const 108)) (then (loop $spin (br $spin))))
    (if (i32.eq (local.get $kind) (i32.const 119)) (then
      (i32.store (i32.const 16) (i32.const 100))
      (i32.store (i32.const 20) (i32.const 32))
      (loop $chatter
        (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
        (br $chatter))))
    (if (i32.eq (local.get $kind) (i32.const 100)) (then (drop (call $deep (i32.const 0)))))
    (if (i32.eq (local.get $kind) (i32.const 98)) (then
      (loop $grow
        (local.set $old (memory.grow (i32.const 16)))
        (if (i32.ne (local.get $old) (i32.const -1)) (then
          (memory.fill (i32.mul (local.get $old) (i32.const 65536)) (i32.const 1) (i32.const 1048576))
          (br $grow))))
      unreachable))
    (i32.store (i32.const 16) (i32.const 200))
    (i32.store (i32.const 20) (i32.const 4))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))"#;

const NAME: &str = "hostile";

/// The client's time limit for an attack.
const CLIENT_LIMIT: Duration = Duration::from_secs(3);

/// A request must end by then: the client's limit and a busy machine's slack.
const ENDS_WITHIN: Duration = Duration::from_secs(8);

fn catalog(dir: &Path) -> Catalog {
    let write = |name: &str, wat: &str| {
        let path = dir.join(name);
        std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
        path
    };
    let workload = CustomWorkload {
        name: NAME.into(),
        modules: BTreeMap::from([
            (Flavour::Middleware, write("hostile-mw.wasm", MIDDLEWARE)),
            (Flavour::Command, write("hostile-cmd.wasm", COMMAND)),
        ]),
        vectors: None,
        pure: true,
    };
    let mut catalog = Catalog::default();
    catalog.add_custom(&BTreeMap::from([(NAME.to_owned(), workload)]));
    catalog
}

fn cell(mode: &str) -> CellId {
    CellId {
        workload: NAME.into(),
        mode: mode.into(),
        runtime: "wazero-in-daprd".into(),
        language: workloads::CUSTOM_LANGUAGE.into(),
        protocol: "http".into(),
        store: "in-memory".into(),
        trigger: "dapr".into(),
        instances: Default::default(),
    }
}

/// The system's target with another request body: raw for the middleware,
/// daprd's gRPC `InvokeBinding` for the binding, as a run builds it.
fn with_body(system: &blueprint::System, mode: &str, body: &[u8]) -> Target {
    if mode == "binding" {
        return blueprint::invoke_binding_target(&system.sidecar, NAME, &Bytes::copy_from_slice(body))
            .unwrap();
    }
    let mut target = system.target.clone();
    target.body = Bytes::copy_from_slice(body);
    target
}

/// One request; whether it succeeded, what failed, and how long it took.
async fn one(target: &Target, http2: bool, timeout: Duration) -> (bool, String, Duration) {
    let spec = LoadSpec {
        connections: 1,
        warmup: Duration::ZERO,
        duration: timeout + Duration::from_secs(1),
        max_requests: Some(1),
        timeout,
        http2,
        threads: 1,
        ..LoadSpec::default()
    };
    let began = Instant::now();
    let report = blueprint_load::run(target, &spec).await.unwrap();
    let errors: u64 = report.errors.values().sum();
    (
        report.requests > errors,
        format!("{:?}", report.errors),
        began.elapsed(),
    )
}

/// CPU seconds (user + system) of `pid` so far, from `/proc/<pid>/stat`.
fn cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of stat (utime, stime), counted after the name.
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::test(flavor = "multi_thread")]
async fn guests_inside_daprd_end_at_the_clients_limit_and_leave_nothing_running() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path());
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for mode in ["middleware", "binding"] {
        for (attack, byte) in [("loop", b'l'), ("stdout", b'w'), ("deep", b'd'), ("bomb", b'b')] {
            let id = cell(mode);
            let resolved = blueprint::resolve(&paths::project_dir(), &id, &catalog)
                .unwrap()
                .unwrap_or_else(|status| panic!("{id}: {status:?}"));
            let work = dir.path().join(format!("{mode}-{attack}"));
            std::fs::create_dir_all(&work).unwrap();
            let system = blueprint::start(
                &common::context(&work),
                &DaprSettings::default(),
                &id,
                &resolved,
                Bytes::from_static(b"p"),
                &work,
            )
            .await
            .unwrap_or_else(|e| panic!("{id}: {e:#}"));
            let plain = with_body(&system, mode, b"p");
            let (ok, errors, _) = one(&plain, system.http2, Duration::from_secs(10)).await;
            assert!(ok, "{id}: a plain request failed before any attack: {errors}");
            let daprd = system.sidecar.pid();
            let rss_before = rss_bytes(daprd).unwrap_or(0);

            let hostile = with_body(&system, mode, &[byte]);
            let (ok, errors, took) = one(&hostile, system.http2, CLIENT_LIMIT).await;
            if took > ENDS_WITHIN {
                failures.push(format!("{id} {attack}: the request took {took:?}"));
            }
            // What daprd does once the client has given up.
            let cpu0 = cpu_s(daprd);
            tokio::time::sleep(Duration::from_secs(2)).await;
            let busy = (cpu_s(daprd) - cpu0) / 2.0;
            let rss_after = rss_bytes(daprd).unwrap_or(0);
            let (served, after_errors, _) = one(&plain, system.http2, Duration::from_secs(5)).await;
            table.push(format!(
                "| {mode} | {attack} | {} | {:.1} s | {:.0} % | {} → {} MiB | {} |",
                if ok { "answered".to_owned() } else { errors },
                took.as_secs_f64(),
                busy * 100.0,
                rss_before >> 20,
                rss_after >> 20,
                if served {
                    "served".to_owned()
                } else {
                    format!("not served: {after_errors}")
                }
            ));
            let pids: Vec<u32> = system.processes().iter().map(|(_, pid)| *pid).collect();
            system.stop();
            let deadline = Instant::now() + Duration::from_secs(10);
            while pids.iter().any(|pid| common::alive(*pid)) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let left: Vec<&u32> = pids.iter().filter(|pid| common::alive(**pid)).collect();
            if !left.is_empty() {
                failures.push(format!("{id} {attack}: processes left running: {left:?}"));
            }
        }
    }
    eprintln!(
        "| mode | attack | the attack's request | took | daprd CPU in the 2 s after | daprd RSS before → after | a plain request after |\n|---|---|---|---:|---:|---:|---|\n{}",
        table.join("\n")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
