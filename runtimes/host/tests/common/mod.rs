//! An in-process host on loopback and a plain HTTP/1.1 client for it.

#![allow(dead_code)] // each test file uses a part

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use blueprint_host::HostArgs;

/// A guest ABI v1 module around `body`: one page of memory, `bb_alloc`
/// answering 1024, "pong" at 100; `body` adds imports, functions and
/// `bb_handle`.
pub fn guest(imports: &str, handle: &str) -> String {
    format!(
        r#"(module
          {imports}
          (memory (export "memory") 1)
          (data (i32.const 100) "pong")
          (func (export "bb_abi_version") (result i32) i32.const 1)
          (func (export "bb_alloc") (param i32) (result i32) i32.const 1024)
          (func (export "bb_handle") (param i32 i32) (result i64) {handle}))"#
    )
}

/// Answers "pong".
pub fn pong() -> String {
    guest("", "i64.const 0x0000006400000004")
}

/// A host serving modules on loopback from its own thread and runtime.
pub struct Host {
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// Picks a free loopback port (closed again: the host binds it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a host with `modules` (name, WAT) on `runtime`; `tweak` sets flags.
pub fn start(runtime: &str, modules: &[(&str, String)], tweak: impl FnOnce(&mut HostArgs)) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, wat) in modules {
        let path: PathBuf = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
        paths.push(((*name).to_owned(), path));
    }
    start_files(runtime, paths, dir, tweak)
}

/// As [`start`], for modules already on disk; `dir` lives as long as the host.
pub fn start_files(
    runtime: &str,
    paths: Vec<(String, PathBuf)>,
    dir: tempfile::TempDir,
    tweak: impl FnOnce(&mut HostArgs),
) -> Host {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut args = HostArgs {
        listen: addr,
        dapr_grpc_port: None,
        dapr_http_port: None,
        state_cache_ttl_ms: None,
        state_cache_entries: 10_000,
        modules: paths,
        runtime: runtime.to_owned(),
        max_memory_pages: 1024,
        call_timeout_ms: 10_000,
        instances: blueprint_host::server::Instances::Fresh,
        app_protocol: blueprint_host::server::AppProtocol::Http,
        added_latency_us: 0,
        added_latency_spread_us: 0,
        added_work_rounds: 0,
        binding_input: None,
        app_api_token: None,
    };
    tweak(&mut args);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        if let Err(err) = rt.block_on(blueprint_host::serve(args)) {
            panic!("host: {err:#}");
        }
    });
    let started = Instant::now();
    while request(addr, "GET", "/healthz", &[], b"").0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(60), "host did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Host { addr, _dir: dir }
}

/// One request on its own connection; status 0 if the host cannot be reached.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body);
    send(addr, &raw)
}

/// Sends raw request bytes and reads the whole answer (60 s at most).
pub fn send(addr: SocketAddr, raw: &[u8]) -> (u16, Vec<u8>) {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return (0, Vec::new());
    };
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let _ = stream.write_all(raw);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    parse(&answer)
}

fn parse(answer: &[u8]) -> (u16, Vec<u8>) {
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (0, answer.to_vec());
    };
    let head = String::from_utf8_lossy(&answer[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer[split + 4..].to_vec())
}
