//! blueprint-bench's load generator against wrk: the same trivial native
//! HTTP server (hyper, in a child process), the same connections and
//! duration, closed loop, recording on. Prints each tool's throughput, the
//! ratio, and CPU per request of each generator (from /proc: this process's
//! utime + stime for the in-process generator, the reaped wrk child's
//! cutime + cstime for wrk), plus the server's.
//!
//! `cargo bench --bench load_vs_wrk`. Settings by environment:
//! `LOAD_VS_WRK_CONNECTIONS` (default `4,16`), `LOAD_VS_WRK_DURATION`
//! (default `5s`), `LOAD_VS_WRK_ROUNDS` (default 3; each round runs both
//! tools, in alternating order; medians are reported). Without `wrk` on
//! PATH it says so, runs blueprint-bench alone and exits 0.

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blueprint_load::{self as load, LoadSpec, Target};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response};

const SERVE_ENV: &str = "LOAD_VS_WRK_SERVE";

fn main() {
    if std::env::var_os(SERVE_ENV).is_some() {
        serve();
        return;
    }
    let connections: Vec<usize> = env_or("LOAD_VS_WRK_CONNECTIONS", "4,16")
        .split(',')
        .map(|c| c.trim().parse().expect("LOAD_VS_WRK_CONNECTIONS: numbers"))
        .collect();
    let duration = humantime::parse_duration(&env_or("LOAD_VS_WRK_DURATION", "5s")).expect("a duration");
    let rounds: usize = env_or("LOAD_VS_WRK_ROUNDS", "3").parse().expect("a number");

    let (server, port) = start_server();
    let server = KillOnDrop(server);
    let url = format!("http://127.0.0.1:{port}/");
    let wrk = find_wrk();
    if wrk.is_none() {
        println!("wrk is not installed (Debian: apt-get install -y wrk): running blueprint-bench alone");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "server: hyper HTTP/1.1 child process (pid {}), {url}; duration {}, {rounds} rounds; {} cores, {}",
        server.id(),
        humantime::format_duration(duration),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    println!(
        "{:<16} {:>5} {:>12} {:>14} {:>14}",
        "generator", "conns", "req/s", "gen CPU µs/req", "server µs/req"
    );
    for &c in &connections {
        let mut bb_runs = Vec::new();
        let mut wrk_runs = Vec::new();
        for round in 0..rounds {
            // Alternate the order so drift in the machine's load is shared.
            let bb_first = round % 2 == 0;
            for turn in 0..2 {
                let run = if (turn == 0) == bb_first {
                    let r = run_blueprint(&rt, &url, c, duration, server.id());
                    bb_runs.push(r);
                    r
                } else if let Some(wrk) = &wrk {
                    let r = run_wrk(wrk, &url, c, duration, server.id());
                    wrk_runs.push(r);
                    r
                } else {
                    continue;
                };
                println!(
                    "{:<16} {c:>5} {:>12.0} {:>14.2} {:>14.2}",
                    run.name, run.rps, run.generator_cpu_us, run.server_cpu_us
                );
            }
        }
        let bb = median(&bb_runs);
        if let Some(w) = (!wrk_runs.is_empty()).then(|| median(&wrk_runs)) {
            println!(
                "=> {c} connections: blueprint-bench {:.0} req/s, wrk {:.0} req/s, ratio {:.3}; generator CPU per request {:.2} µs vs {:.2} µs",
                bb.rps,
                w.rps,
                bb.rps / w.rps,
                bb.generator_cpu_us,
                w.generator_cpu_us
            );
        } else {
            println!("=> {c} connections: blueprint-bench {:.0} req/s", bb.rps);
        }
    }
}

/// Stops the server child however `main` ends.
struct KillOnDrop(Child);

impl KillOnDrop {
    fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[derive(Debug, Clone, Copy)]
struct RunFigures {
    name: &'static str,
    rps: f64,
    generator_cpu_us: f64,
    server_cpu_us: f64,
}

/// Median of each figure over the rounds (the machine may be shared: a
/// median ignores one disturbed round).
fn median(runs: &[RunFigures]) -> RunFigures {
    let mid = |f: fn(&RunFigures) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    };
    RunFigures {
        name: runs.first().map_or("", |r| r.name),
        rps: mid(|r| r.rps),
        generator_cpu_us: mid(|r| r.generator_cpu_us),
        server_cpu_us: mid(|r| r.server_cpu_us),
    }
}

fn run_blueprint(
    rt: &tokio::runtime::Runtime,
    url: &str,
    c: usize,
    duration: Duration,
    server: u32,
) -> RunFigures {
    let target = Target::new(url, Method::GET, Bytes::new()).expect("a loopback URL");
    let spec = LoadSpec::closed(c, Duration::ZERO, duration);
    let (self_before, server_before) = (cpu_ticks("self"), cpu_ticks(&server.to_string()));
    let report = rt.block_on(load::run(&target, &spec)).expect("a load run");
    let (self_after, server_after) = (cpu_ticks("self"), cpu_ticks(&server.to_string()));
    assert_eq!(report.error_count(), 0, "{:?}", report.errors);
    let completed = report.requests as f64;
    RunFigures {
        name: "blueprint-bench",
        rps: report.throughput(),
        generator_cpu_us: per_request(self_after.0 - self_before.0, completed),
        server_cpu_us: per_request(server_after.0 - server_before.0, completed),
    }
}

fn run_wrk(wrk: &str, url: &str, c: usize, duration: Duration, server: u32) -> RunFigures {
    let (self_before, server_before) = (cpu_ticks("self"), cpu_ticks(&server.to_string()));
    let out = Command::new(wrk)
        .args(["-t", "2", "-c", &c.to_string(), "-d"])
        .arg(format!("{}s", duration.as_secs().max(1)))
        .arg(url)
        .output()
        .expect("wrk runs");
    let (self_after, server_after) = (cpu_ticks("self"), cpu_ticks(&server.to_string()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rps: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output: {text}"));
    let completed: f64 = text
        .lines()
        .find_map(|l| l.split_once(" requests in ").map(|(n, _)| n.trim().to_owned()))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's output: {text}"));
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "wrk saw errors: {text}"
    );
    RunFigures {
        name: "wrk",
        rps,
        // The reaped child's CPU lands in this process's cutime + cstime.
        generator_cpu_us: per_request(self_after.1 - self_before.1, completed),
        server_cpu_us: per_request(server_after.0 - server_before.0, completed),
    }
}

/// (utime + stime, cutime + cstime) of `/proc/<pid>/stat`, in seconds.
fn cpu_ticks(pid: &str) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // Fields after the parenthesised command: state is field 3, utime 14.
    let rest = stat.rsplit_once(')').expect("a stat line").1;
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    let tick = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    // `rest` starts at field 3, so field n is f[n - 3].
    ((f[11] + f[12]) / tick, (f[13] + f[14]) / tick)
}

fn per_request(cpu_s: f64, requests: f64) -> f64 {
    cpu_s * 1e6 / requests.max(1.0)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

fn find_wrk() -> Option<String> {
    let ok = Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    ok.then(|| "wrk".to_owned())
}

/// Starts this program again as the server; returns it and its port.
fn start_server() -> (Child, u16) {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(SERVE_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server child");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the server's port");
    let port = line.trim().parse().expect("a port number");
    // Let it settle.
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        && started.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    (child, port)
}

/// The trivial server: `200 OK`, 13-byte body, HTTP/1.1 keep-alive. It
/// exits when its stdin closes, that is when the benchmark ends, however.
fn serve() {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr").port());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"Hello, world!"))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
