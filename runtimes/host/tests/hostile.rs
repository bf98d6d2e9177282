//! Hostile guests and requests (`runtimes/HOST.md`): each is stopped within
//! its limit with the contract's status, and the host serves the next
//! request. No daprd is needed.

mod common;

use std::time::{Duration, Instant};

use common::{guest, pong, request, start};

/// Runtimes whose adapters are always built.
const RUNTIMES: [&str; 2] = ["wasmtime", "wasmer"];

/// The call limit of these tests.
const LIMIT_MS: u64 = 400;

/// Claims a response of 2 GiB − 1 bytes at 0, far past its one page.
fn huge_response() -> String {
    guest("", "i64.const 0x7fffffff")
}

/// Writes to stdout and stderr for ever.
fn chatter() -> String {
    guest(
        r#"(import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))"#,
        r#"(i32.store (i32.const 0) (i32.const 100))
           (i32.store (i32.const 4) (i32.const 4))
           (loop $again
             (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
             (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
             br $again)
           i64.const 0"#,
    )
}

/// Asks `poll_oneoff` for 20 s of sleep on the monotonic clock (long enough to
/// see, short enough not to hang a run).
fn sleeper() -> String {
    guest(
        r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))"#,
        r#"(i64.store (i32.const 200) (i64.const 7))
           (i32.store8 (i32.const 208) (i32.const 0))
           (i32.store (i32.const 216) (i32.const 1))
           (i64.store (i32.const 224) (i64.const 20000000000))
           (i32.store16 (i32.const 240) (i32.const 0))
           (drop (call $poll (i32.const 200) (i32.const 300) (i32.const 1) (i32.const 400)))
           i64.const 0x0000006400000004"#,
    )
}

fn modules() -> Vec<(&'static str, String)> {
    vec![
        ("pong", pong()),
        ("huge", huge_response()),
        ("chatter", chatter()),
        ("sleeper", sleeper()),
    ]
}

/// `name` answers `status` with `body` within `within`, then "pong" still answers.
fn expect(host: &common::Host, runtime: &str, name: &str, status: u16, body: &str, within: Duration) {
    let began = Instant::now();
    let (got, got_body) = request(host.addr, "POST", &format!("/{name}"), &[], b"hi");
    let took = began.elapsed();
    let got_body = String::from_utf8_lossy(&got_body);
    assert_eq!(got, status, "{runtime} {name}: {got_body}");
    assert!(
        got_body.contains(body),
        "{runtime} {name}: body {got_body:?}, want {body:?}"
    );
    assert!(took < within, "{runtime} {name}: took {took:?}, limit {within:?}");
    let (after, pong) = request(host.addr, "POST", "/pong", &[], b"");
    assert_eq!(
        (after, pong.as_slice()),
        (200, &b"pong"[..]),
        "{runtime}: after {name}"
    );
}

#[test]
fn hostile_guests_are_stopped_and_the_host_keeps_serving() {
    // Generous against a busy machine, far below "for ever".
    let within = Duration::from_millis(LIMIT_MS) + Duration::from_secs(3);
    for runtime in RUNTIMES {
        let host = start(runtime, &modules(), |a| a.call_timeout_ms = LIMIT_MS);
        expect(&host, runtime, "huge", 502, "outside guest memory", within);
        expect(&host, runtime, "chatter", 504, "timeout", within);
        expect(&host, runtime, "sleeper", 504, "timeout", within);
    }
}

#[test]
fn a_body_over_the_limit_gets_413_without_being_read() {
    let host = start("wasmtime", &modules(), |_| {});
    // Only the head is sent: the host must answer from Content-Length alone.
    let head = format!(
        "POST /pong HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        host.addr,
        100 << 20
    );
    let began = Instant::now();
    let (status, _) = common::send(host.addr, head.as_bytes());
    assert_eq!(status, 413);
    assert!(began.elapsed() < Duration::from_secs(5));
    // Streamed without a length, it is cut off at the limit as it arrives.
    let mut chunked = format!(
        "POST /pong HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n",
        host.addr
    )
    .into_bytes();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..100 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, _) = common::send(host.addr, &chunked);
    assert!(status == 413 || status == 0, "chunked: {status}");
    let (after, pong) = request(host.addr, "POST", "/pong", &[], b"");
    assert_eq!((after, pong.as_slice()), (200, &b"pong"[..]));
}

/// Method, path, headers, expected status.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], u16);

#[test]
fn the_app_token_guards_every_route_but_healthz() {
    let host = start("wasmtime", &[("pong", pong())], |a| {
        a.app_api_token = Some("s3cret".into())
    });
    let token = [("dapr-api-token", "s3cret")];
    let cases: [Case; 9] = [
        ("GET", "/healthz", &[], 200),
        ("POST", "/pong", &[], 401),
        ("POST", "/pong", &[("dapr-api-token", "s3cre")], 401),
        ("POST", "/pong", &[("dapr-api-token", "s3cretx")], 401),
        ("POST", "/pong", &token, 200),
        ("GET", "/info", &[], 401),
        ("GET", "/info", &token, 200),
        ("GET", "/stats", &[], 401),
        ("GET", "/stats", &token, 200),
    ];
    for (method, path, headers, want) in cases {
        let (got, body) = request(host.addr, method, path, headers, b"");
        assert_eq!(
            got,
            want,
            "{method} {path} {headers:?}: {}",
            String::from_utf8_lossy(&body)
        );
    }
}
