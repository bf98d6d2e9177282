//! Hostile guests through the whole stack: requests go to daprd, daprd
//! invokes our app host, the host runs the guest. On every mode whose app
//! runs guests (embedded, embedded+cache, standalone-http) and every runtime
//! built here, each attack is stopped within the host's time limit with the
//! status `runtimes/HOST.md` gives it, daprd passes that status on, the same
//! system answers the next request, and the host's resident memory comes
//! back near its idle value.
//!
//! The guests that run inside daprd itself (middleware, binding) are Dapr's
//! components, with Dapr's limits, and are not part of this contract.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use blueprint_bench::blueprint;
use blueprint_bench::meter::rss_bytes;
use blueprint_bench::paths;
use blueprint_bench::scenario::{CellId, DaprSettings};
use blueprint_bench::workloads::{self, Catalog, CustomWorkload, Flavour};

/// One guest, several attacks: the first byte of the request picks one.
/// `p` (or anything else): answer "pong". `l`: loop for ever. `s`: ask WASI
/// for a minute's sleep. `w`: write to stdout for ever. `h`: claim a response
/// of 2 GiB − 1 bytes. `d`: recurse without end. `b`: grow the memory page by
/// page, writing every byte, until refused, then trap.
const HOSTILE: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "pong")
  (func (export "bb_abi_version") (result i32) i32.const 1)
  (func (export "bb_alloc") (param i32) (result i32) i32.const 1024)
  (func $deep (param i32) (result i32)
    (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "bb_handle") (param $ptr i32) (param $len i32) (result i64)
    (local $kind i32) (local $old i32)
    (if (i32.eqz (local.get $len)) (then (return (i64.const 0x0000006400000004))))
    (local.set $kind (i32.load8_u (local.get $ptr)))
    (if (i32.eq (local.get $kind) (i32.const 108)) (then (loop $spin (br $spin))))
    (if (i32.eq (local.get $kind) (i32.const 115)) (then
      (i64.store (i32.const 200) (i64.const 7))
      (i32.store8 (i32.const 208) (i32.const 0))
      (i32.store (i32.const 216) (i32.const 1))
      (i64.store (i32.const 224) (i64.const 60000000000))
      (i32.store16 (i32.const 240) (i32.const 0))
      (drop (call $poll (i32.const 200) (i32.const 300) (i32.const 1) (i32.const 400)))))
    (if (i32.eq (local.get $kind) (i32.const 119)) (then
      (i32.store (i32.const 0) (i32.const 100))
      (i32.store (i32.const 4) (i32.const 4))
      (loop $chatter
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br $chatter))))
    (if (i32.eq (local.get $kind) (i32.const 104)) (then (return (i64.const 0x7fffffff))))
    (if (i32.eq (local.get $kind) (i32.const 100)) (then (drop (call $deep (i32.const 0)))))
    (if (i32.eq (local.get $kind) (i32.const 98)) (then
      (loop $grow
        (local.set $old (memory.grow (i32.const 1)))
        (if (i32.ne (local.get $old) (i32.const -1)) (then
          (memory.fill (i32.mul (local.get $old) (i32.const 65536)) (i32.const 1) (i32.const 65536))
          (br $grow))))
      unreachable))
    (i64.const 0x0000006400000004)))"#;

/// The workload's name in the cells.
const NAME: &str = "hostile";

/// The modes whose app host runs the guest.
const MODES: [&str; 3] = ["embedded", "embedded+cache", "standalone-http"];

/// Every runtime an app host has in this build: WasmEdge (compiled ahead
/// of time, and interpreted) only where the build links its library
/// (feature `wasmedge`, which Debian's packages cannot serve:
/// `runtimes/wasmedge/README.md`).
fn runtimes() -> Vec<&'static str> {
    let mut runtimes = vec!["wasmtime", "wasmer", "wazero"];
    if cfg!(feature = "wasmedge") {
        runtimes.extend(["wasmedge", "wasmedge-interp"]);
    }
    runtimes
}

/// The hosts' default time limit per call (`runtimes/HOST.md`).
const CALL_LIMIT: Duration = Duration::from_secs(10);

/// Far below "for ever", generous for a busy two-core machine.
const SLACK: Duration = Duration::from_secs(5);

/// Attack, expected status, a piece of the expected body.
const ATTACKS: [(&str, u16, &str); 6] = [
    ("loop", 504, "timeout"),
    ("sleep", 504, "timeout"),
    ("write", 504, "timeout"),
    ("huge", 502, "outside guest memory"),
    ("deep", 500, "trap"),
    ("bomb", 500, "trap"),
];

/// The attacks and what `runtime` must answer. WasmEdge keeps a guest's
/// call stack in growable heap memory with no depth limit
/// (`runtimes/wasmedge/tests/faults.rs`), so unbounded recursion is stopped
/// by the time limit there rather than trapping.
fn attacks(runtime: &str) -> Vec<(&'static str, u16, &'static str)> {
    ATTACKS
        .iter()
        .map(
            |&(name, status, piece)| match (name, runtime.starts_with("wasmedge")) {
                ("deep", true) => (name, 504, "timeout"),
                _ => (name, status, piece),
            },
        )
        .collect()
}

fn catalog(dir: &Path) -> Catalog {
    let module = dir.join("hostile.wasm");
    std::fs::write(&module, wat::parse_str(HOSTILE).unwrap()).unwrap();
    let workload = CustomWorkload {
        name: NAME.into(),
        modules: BTreeMap::from([(Flavour::Embedded, module.clone()), (Flavour::Http, module)]),
        vectors: None,
        pure: true,
    };
    let mut catalog = Catalog::default();
    catalog.add_custom(&BTreeMap::from([(NAME.to_owned(), workload)]));
    catalog
}

fn cell(mode: &str, runtime: &str) -> CellId {
    CellId {
        workload: NAME.into(),
        mode: mode.into(),
        runtime: runtime.into(),
        language: workloads::CUSTOM_LANGUAGE.into(),
        protocol: "http".into(),
        store: "in-memory".into(),
        trigger: "dapr".into(),
        instances: Default::default(),
    }
}

/// Sends `body` through daprd and returns the status, the body and how long it took.
async fn send(system: &blueprint::System, body: &'static str) -> (u16, String, Duration) {
    let began = Instant::now();
    let reply = system
        .sidecar
        .client()
        .post(&system.sidecar.invoke_url(NAME), body, CALL_LIMIT * 3)
        .await
        .unwrap_or_else(|e| panic!("`{body}` through daprd: {e:#}"));
    (reply.status.as_u16(), reply.text(), began.elapsed())
}

/// `n` pongs through daprd, each 200.
async fn pongs(system: &blueprint::System, id: &CellId, n: usize, after: &str) {
    for _ in 0..n {
        let (status, body, _) = send(system, "p").await;
        assert_eq!((status, body.as_str()), (200, "pong"), "{id}: after {after}");
    }
}

/// Starts `id`'s system (daprd and the app host serving the hostile guest)
/// in `dir`, and the host's pid.
async fn start(id: &CellId, catalog: &Catalog, dir: &Path) -> Result<(blueprint::System, u32), String> {
    let resolved = match blueprint::resolve(&paths::project_dir(), id, catalog).unwrap() {
        Ok(resolved) => resolved,
        Err(status) => return Err(format!("{id} cannot run here: {status:?}")),
    };
    std::fs::create_dir_all(dir).unwrap();
    let system = blueprint::start(
        &common::context(dir),
        &DaprSettings::default(),
        id,
        &resolved,
        bytes::Bytes::new(),
        dir,
    )
    .await
    .map_err(|e| format!("{id} did not start: {e:#}"))?;
    let host = system.host.as_ref().expect("an app-hosted mode has a host").pid();
    Ok((system, host))
}

/// Runs every attack on `id`'s system; returns what went wrong, if anything.
async fn attack(id: CellId, catalog: Catalog, dir: std::path::PathBuf) -> Result<(), String> {
    let (system, host) = start(&id, &catalog, &dir).await?;
    pongs(&system, &id, 20, "start-up").await;
    let idle = rss_bytes(host).unwrap();

    let mut failures = Vec::new();
    // The attacks that wait out the limit run side by side; the others one
    // after another, the memory bomb three times (what one leaves behind must
    // not add up).
    let (waits, quick): (Vec<_>, Vec<_>) = attacks(&id.runtime)
        .into_iter()
        .partition(|(_, status, _)| *status == 504);
    let mut replies: Vec<_> = waits
        .iter()
        .copied()
        .zip(futures_util::future::join_all(waits.iter().map(|(name, _, _)| send(&system, &name[..1]))).await)
        .collect();
    for attack @ (name, _, _) in quick {
        for _ in 0..if name == "bomb" { 3 } else { 1 } {
            replies.push((attack, send(&system, &name[..1]).await));
        }
    }
    for ((name, want, piece), (status, body, took)) in replies {
        if status != want || !body.contains(piece) || took > CALL_LIMIT + SLACK {
            failures.push(format!(
                "{id} {name}: {status} {body:?} after {took:?}, want {want} with {piece:?} within {:?}",
                CALL_LIMIT + SLACK
            ));
        }
    }
    pongs(&system, &id, 20, "the attacks").await;
    // Half a guest memory cap (64 MiB) above idle at most, within a few
    // seconds: a runtime may hand freed memory back in the background.
    let allowance = 32 << 20;
    let waited = Instant::now();
    let mut after = rss_bytes(host).unwrap();
    while after > idle + allowance && waited.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = rss_bytes(host).unwrap();
    }
    if after > idle + allowance {
        failures.push(format!(
            "{id}: host RSS {} MiB 5 s after the attacks, {} MiB idle",
            after >> 20,
            idle >> 20
        ));
    }
    eprintln!(
        "{id}: host RSS idle {} MiB, after the attacks {} MiB",
        idle >> 20,
        after >> 20
    );
    let gone = system.gone();
    system.stop();
    if !gone.is_empty() {
        failures.push(format!("{id}: processes gone: {gone:?}"));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_guests_are_stopped_on_every_app_hosted_mode_and_runtime_through_daprd() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path());
    let mut failures = Vec::new();
    // One runtime at a time, its modes side by side: the attacks mostly wait.
    for runtime in runtimes() {
        let cells = MODES.iter().map(|mode| {
            let id = cell(mode, runtime);
            let work = dir.path().join(format!("{runtime}-{}", mode.replace('+', "-")));
            tokio::spawn(attack(id, catalog.clone(), work))
        });
        for outcome in futures_util::future::join_all(cells).await {
            if let Err(failure) = outcome.unwrap() {
                failures.push(failure);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100_mb_body_is_refused_and_the_system_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path());
    let id = cell("embedded", "wasmtime");
    let (system, host) = start(&id, &catalog, dir.path()).await.unwrap();
    pongs(&system, &id, 5, "start-up").await;
    let idle = rss_bytes(host).unwrap();
    let big = vec![b'p'; 100 << 20];
    let reply = system
        .sidecar
        .client()
        .post(&system.sidecar.invoke_url(NAME), big, Duration::from_secs(60))
        .await;
    let outcome = match &reply {
        Ok(reply) => format!(
            "{} {:?}",
            reply.status,
            reply.text().chars().take(200).collect::<String>()
        ),
        Err(e) => format!("{e:#}"),
    };
    eprintln!("100 MB body through daprd: {outcome}");
    assert!(
        reply.as_ref().map_or(true, |r| !r.status.is_success()),
        "a 100 MB body was served: {outcome}"
    );
    pongs(&system, &id, 5, "the 100 MB body").await;
    let after = rss_bytes(host).unwrap();
    let gone = system.gone();
    system.stop();
    assert!(gone.is_empty(), "processes gone: {gone:?}");
    assert!(
        after < idle + (64 << 20),
        "host RSS {} MiB after the body, {} MiB idle",
        after >> 20,
        idle >> 20
    );
}
