//! A `wasi:http/proxy` component in our host reaches daprd's HTTP port and
//! nothing else: a request to any other authority is refused before a
//! connection is made (`HTTP-request-denied`), and the one it may reach gets
//! a `Host` header (which daprd's Go server requires).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Builds `tests/components/reach` for `wasm32-wasip2` and returns the component.
fn reach_component() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/components/reach/Cargo.toml");
    let target_dir = blueprint_workloads::cache_dir().join("guests/target-test-reach");
    let output = blueprint_workloads::cargo_for("build", "wasm32-wasip2", &manifest, &target_dir)
        .output()
        .expect("running cargo");
    assert!(
        output.status.success(),
        "building the reach component:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target_dir.join("wasm32-wasip2/release/reach.wasm")
}

/// Accepts at most one connection within `wait`, answers it `204`, and
/// returns the request head it read.
fn accept_one(listener: &TcpListener, wait: Duration) -> Option<String> {
    listener.set_nonblocking(true).unwrap();
    let started = Instant::now();
    loop {
        match listener.accept() {
            Ok((mut stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n");
                return Some(String::from_utf8_lossy(&head).into_owned());
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock && started.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => return None,
        }
    }
}

#[test]
fn a_component_reaches_daprd_and_nothing_else() {
    let component = reach_component();
    let daprd = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let daprd_port = daprd.local_addr().unwrap().port();
    let other_port = other.local_addr().unwrap().port();
    let host = common::start_files(
        "wasmtime",
        vec![("reach".to_owned(), component)],
        tempfile::tempdir().unwrap(),
        |args| args.dapr_http_port = Some(daprd_port),
    );

    for url in [
        format!("http://127.0.0.1:{other_port}/v1.0/state/statestore/k"),
        // User info naming daprd's address does not change where it goes.
        format!("http://127.0.0.1:{daprd_port}@127.0.0.1:{other_port}/"),
        format!("http://localhost:{daprd_port}/"),
    ] {
        let (status, body) = common::request(host.addr, "POST", "/reach", &[], url.as_bytes());
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "{url}: {body}");
        assert!(body.starts_with("error "), "{url} was not refused: {body}");
        assert!(
            accept_one(&other, Duration::from_millis(300)).is_none(),
            "{url}: a connection reached the other listener"
        );
    }
    let (status, body) = common::request(
        host.addr,
        "POST",
        "/reach",
        &[],
        format!("http://127.0.0.1:{other_port}/").as_bytes(),
    );
    assert_eq!(
        (status, String::from_utf8_lossy(&body).into_owned()),
        (200, "error ErrorCode::HttpRequestDenied".to_owned())
    );

    let url = format!("http://127.0.0.1:{daprd_port}/v1.0/healthz");
    let waiter = std::thread::spawn(move || accept_one(&daprd, Duration::from_secs(10)));
    let (status, body) = common::request(host.addr, "POST", "/reach", &[], url.as_bytes());
    assert_eq!(
        (status, String::from_utf8_lossy(&body).into_owned()),
        (200, "status 204".to_owned())
    );
    let head = waiter
        .join()
        .unwrap()
        .expect("no connection reached daprd's port")
        .to_ascii_lowercase();
    assert!(head.starts_with("get /v1.0/healthz http/1.1"), "{head}");
    assert!(
        head.contains(&format!("host: 127.0.0.1:{daprd_port}\r\n")),
        "{head}"
    );
}
