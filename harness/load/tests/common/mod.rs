//! Small native HTTP servers on 127.0.0.1 ephemeral ports for the load
//! generator's ground-truth tests.
//!
//! [`Server`] is a thread-per-connection HTTP/1.1 server on std sockets:
//! its delays use `std::thread::sleep` (nanosleep, tens of microseconds
//! late at most), not a millisecond timer, so a test knows the true service
//! time. A behaviour function decides, per request, what to answer.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the server does with one request.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Answer with this status once `at` has come (now if `None`).
    Respond { status: u16, at: Option<Instant> },
    /// Close the connection without answering.
    Close,
}

impl Action {
    /// 200 now.
    pub fn ok() -> Self {
        Action::Respond {
            status: 200,
            at: None,
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Index in arrival order, from 0.
    pub index: u64,
    /// When its head was read.
    pub arrival: Instant,
    /// The request line and headers.
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
}

struct State {
    requests: AtomicU64,
    connections: AtomicU64,
    seen: Mutex<Vec<Seen>>,
    stop: AtomicBool,
}

/// A running test server; stops accepting when dropped.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
}

type Behaviour = dyn Fn(&Seen) -> Action + Send + Sync;

impl Server {
    /// Starts a server answering as `behaviour` says.
    pub fn start(behaviour: impl Fn(&Seen) -> Action + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            requests: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            seen: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let behaviour: Arc<Behaviour> = Arc::new(behaviour);
        let st = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                st.connections.fetch_add(1, Ordering::Relaxed);
                let (st, behaviour) = (st.clone(), behaviour.clone());
                std::thread::spawn(move || serve(stream, &st, &*behaviour));
            }
        });
        Server { addr, state }
    }

    /// A server that answers 200 after `delay`.
    pub fn delayed(delay: Duration) -> Self {
        Self::start(move |r| Action::Respond {
            status: 200,
            at: Some(r.arrival + delay),
        })
    }

    /// `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests read so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// Every request read so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, state: &State, behaviour: &Behaviour) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut head = String::new();
        let mut content_length = 0usize;
        let mut close = false;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("connection:") && lower.contains("close") {
                close = true;
            }
            head.push_str(&line);
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let arrival = Instant::now();
        if state.stop.load(Ordering::Relaxed) {
            return;
        }
        let index = state.requests.fetch_add(1, Ordering::Relaxed);
        let seen = Seen {
            index,
            arrival,
            head,
            body,
        };
        let action = behaviour(&seen);
        state.seen.lock().unwrap().push(seen);
        match action {
            Action::Close => return,
            Action::Respond { status, at } => {
                if let Some(at) = at {
                    let now = Instant::now();
                    if at > now {
                        std::thread::sleep(at - now);
                    }
                }
                let response =
                    format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok");
                if writer.write_all(response.as_bytes()).is_err() {
                    return;
                }
            }
        }
        if close {
            return;
        }
    }
}

/// Coefficient of variation (sd / mean) of the gaps between arrivals.
pub fn gap_cv(arrivals: &[Instant]) -> f64 {
    let gaps: Vec<f64> = arrivals.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<f64>() / n;
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n;
    var.sqrt() / mean
}

/// Milliseconds of a nanosecond value.
pub fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}
