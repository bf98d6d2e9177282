//! `blueprint-bench load` through the binary: bad input is one clear line and
//! a non-zero exit; a good run prints JSON and writes an interval log.

#[path = "../load/tests/common/mod.rs"]
mod load_common;

use std::process::{Command, Output, Stdio};

use load_common::{Action, Server};

fn load(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blueprint-bench"))
        .arg("load")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Fails with exactly one line on stderr that contains every `words`.
fn assert_one_line_error(out: &Output, words: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exit {:?}, stderr {stderr}", out.status);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for word in words {
        assert!(lines[0].contains(word), "`{word}` missing from: {stderr}");
    }
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn targets_outside_loopback_are_refused() {
    for (url, words) in [
        ("http://10.1.2.3:8080/", &["refusing", "loopback"][..]),
        ("http://[2001:db8::1]/", &["refusing", "loopback"]),
        ("http://example.com/", &["example.com", "loopback"]),
        ("http://0.0.0.0:80/", &["refusing", "loopback"]),
    ] {
        assert_one_line_error(&load(&[url, "-d", "1s"]), words);
    }
}

#[test]
fn bad_input_is_one_clear_line_and_a_non_zero_exit() {
    let server = Server::start(|_| Action::ok());
    let url = server.url("/");
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let unreachable = format!("http://127.0.0.1:{closed_port}/");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["not a url"], vec!["not a valid URL"]),
        (vec!["https://127.0.0.1/"], vec!["only http://"]),
        (vec![&unreachable, "-d", "1s"], vec!["cannot connect", "refused"]),
        (vec![&url, "--rate", "0"], vec!["--rate", "positive"]),
        (vec![&url, "--rate", "-5"], vec!["--rate", "positive"]),
        (vec![&url, "--rate", "inf"], vec!["--rate"]),
        (
            vec![&url, "--duration", "99999999999h"],
            vec!["--duration", "at most"],
        ),
        (vec![&url, "--duration", "0s"], vec!["--duration", "positive"]),
        (vec![&url, "-c", "0"], vec!["--connections"]),
        (
            vec![&url, "--body-file", "/no/such/body"],
            vec!["body file", "/no/such/body"],
        ),
        (vec![&url, "-H", "no colon"], vec!["header", "Name: value"]),
        (vec![&url, "-m", "BAD METHOD"], vec!["HTTP method"]),
    ];
    for (args, words) in cases {
        let out = load(&args);
        assert_one_line_error(&out, &words);
    }
    assert_eq!(server.requests(), 0, "no bad input may send a request");
}

#[test]
fn a_run_prints_json_and_writes_an_interval_log() {
    let server = Server::start(|r| {
        if r.index % 10 == 9 {
            Action::Respond {
                status: 503,
                at: None,
            }
        } else {
            Action::ok()
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(&body, b"{\"k\":1}").unwrap();
    let log = dir.path().join("run.hlog");
    let out = load(&[
        &server.url("/path?q=1"),
        "--rate",
        "200",
        "--arrival",
        "poisson",
        "-d",
        "1s",
        "-c",
        "8",
        "-m",
        "POST",
        "-H",
        "X-Test: yes",
        "-H",
        "content-type: application/json",
        "--body-file",
        body.to_str().unwrap(),
        "--json",
        "--hdr-log",
        log.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let requests = json["requests"].as_u64().unwrap();
    assert_eq!(requests, server.requests());
    let open = &json["open_loop"];
    assert_eq!(open["arrival"], "poisson");
    assert_eq!(open["sent"].as_u64().unwrap(), requests);
    assert_eq!(json["errors"]["http-503"].as_u64().unwrap(), requests / 10);
    for key in ["p50", "p75", "p90", "p99", "p999", "p9999", "max"] {
        assert!(json["latency_quantiles_us"][key].as_f64().unwrap() > 0.0, "{key}");
        assert!(open["service_us"][key].as_f64().unwrap() > 0.0, "{key}");
    }
    // What the server got.
    let first = &server.seen()[0];
    assert!(
        first.head.starts_with("POST /path?q=1 HTTP/1.1"),
        "{}",
        first.head
    );
    assert!(
        first.head.to_ascii_lowercase().contains("x-test: yes"),
        "{}",
        first.head
    );
    assert_eq!(first.body, b"{\"k\":1}");
    // The interval log has both tags.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("Tag=latency,0.000,1.000,")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("Tag=service,0.000,1.000,")),
        "{text}"
    );
}

#[test]
fn the_terminal_summary_shows_both_histograms_in_an_open_loop() {
    let server = Server::start(|_| Action::ok());
    let out = load(&[&server.url("/"), "--rate", "100", "-d", "500ms"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for word in [
        "open loop",
        "latency from intended start",
        "service time from send",
        "p99.99",
        "50 due, 50 sent",
        "0 missed",
    ] {
        assert!(stdout.contains(word), "`{word}` missing:\n{stdout}");
    }
    let out = load(&[&server.url("/"), "-d", "300ms", "-c", "2"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("closed loop, 2 connections"), "{stdout}");
    assert!(stdout.contains("Latency (from the send)"), "{stdout}");
}
