//! `blueprint-bench merge`: three `load` processes against one loopback
//! server, merged, against one process with three times the connections.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;

use blueprint_bench::k8s::merge::LoadOutput;
use blueprint_load::decode_histogram;

/// A keep-alive HTTP/1.1 server on loopback answering every request with
/// `ok`, a thread per connection.
fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    port
}

fn answer(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // One request: headers up to the blank line, then Content-Length bytes.
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < end + 4 + length {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..end + 4 + length);
        if stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}

fn load(port: u16, connections: usize) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_blueprint-bench"))
        .args(["load", &format!("http://127.0.0.1:{port}/x")])
        .args(["--connections", &connections.to_string(), "--threads", "1"])
        .args(["--warmup", "300ms", "--duration", "2s", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("blueprint-bench runs")
}

fn output(child: std::process::Child) -> (String, LoadOutput) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "load failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let parsed = serde_json::from_str(&text).expect("load --json prints one document");
    (text, parsed)
}

fn read(path: &Path) -> LoadOutput {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn three_merged_runs_match_one_with_three_times_the_connections() {
    let port = serve();
    let dir = tempfile::tempdir().unwrap();

    // Side by side, as the pods of one Job.
    let children: Vec<_> = (0..3).map(|_| load(port, 2)).collect();
    let mut inputs = Vec::new();
    let mut parts = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let (text, parsed) = output(child);
        let path = dir.path().join(format!("in{i}.json"));
        std::fs::write(&path, text).unwrap();
        inputs.push(path);
        parts.push(parsed);
    }
    let merged_path = dir.path().join("merged.json");
    let status = Command::new(env!("CARGO_BIN_EXE_blueprint-bench"))
        .arg("merge")
        .arg(&merged_path)
        .args(&inputs)
        .status()
        .unwrap();
    assert!(status.success());
    let merged = read(&merged_path);
    let (_, single) = output(load(port, 6));

    // Exact: counts add, and the merged histogram holds every request.
    let sum = |f: fn(&LoadOutput) -> u64| parts.iter().map(f).sum::<u64>();
    assert_eq!(merged.summary.requests, sum(|p| p.summary.requests));
    assert_eq!(merged.summary.successes, sum(|p| p.summary.successes));
    assert_eq!(merged.connections, 6);
    let histogram = decode_histogram(&merged.summary.latency_histogram).unwrap();
    let parts_len: u64 = parts
        .iter()
        .map(|p| decode_histogram(&p.summary.latency_histogram).unwrap().len())
        .sum();
    assert_eq!(histogram.len(), parts_len);
    assert_eq!(histogram.len(), merged.summary.successes);
    let added: f64 = parts.iter().map(|p| p.summary.throughput_rps).sum();
    assert!((merged.summary.throughput_rps - added).abs() < 1e-6 * added.max(1.0));

    // Within noise: the same 6 connections on one loopback server. A merge
    // that averaged instead of adding would be off by 3×; the band is a
    // factor of 2 because three processes and one differ in scheduling on
    // a small shared machine.
    let ratio = merged.summary.throughput_rps / single.summary.throughput_rps;
    assert!(
        (0.5..=2.0).contains(&ratio),
        "merged {:.0}/s against one process's {:.0}/s",
        merged.summary.throughput_rps,
        single.summary.throughput_rps
    );
    let (m, s) = (
        merged.summary.latency_us.unwrap().p50,
        single.summary.latency_us.unwrap().p50,
    );
    assert!(
        (m / s) > 1.0 / 3.0 && (m / s) < 3.0,
        "p50 merged {m:.1} µs against {s:.1} µs"
    );
}

#[test]
fn runs_of_different_targets_do_not_merge() {
    let port = serve();
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = output(load(port, 1));
    let other = a.replace(&format!("127.0.0.1:{port}/x"), &format!("127.0.0.1:{port}/y"));
    std::fs::write(dir.path().join("a.json"), &a).unwrap();
    std::fs::write(dir.path().join("b.json"), other).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_blueprint-bench"))
        .arg("merge")
        .arg(dir.path().join("m.json"))
        .arg(dir.path().join("a.json"))
        .arg(dir.path().join("b.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("different targets"));
}
