//! The generator's HTTP/1.1 response reader on responses that arrive in
//! arbitrary pieces: well-formed ones read the same however they are split;
//! broken, truncated or hostile ones are an error, never a panic, a hang or
//! an allocation in proportion to what a server claims.

#[path = "../../tests/mutate/mod.rs"]
mod mutate;

use std::net::SocketAddr;
use std::time::Duration;

use blueprint_load::{ErrorKind, H1, Outcome};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";

/// A well-formed response and what reading it must give.
#[derive(Debug, Clone)]
struct Response {
    bytes: Vec<u8>,
    status: u16,
    keep_alive: bool,
}

/// How a body is framed.
#[derive(Debug, Clone)]
enum Framing {
    Length,
    /// Chunk sizes (the body is cut in these), with chunk extensions or not.
    Chunked(Vec<usize>, bool),
    Close,
}

fn response() -> impl Strategy<Value = Response> {
    let framing = prop_oneof![
        Just(Framing::Length),
        (prop::collection::vec(1usize..300, 0..6), any::<bool>()).prop_map(|(c, e)| Framing::Chunked(c, e)),
        Just(Framing::Close),
    ];
    (
        prop_oneof![Just(100u16), 200u16..600],
        prop::collection::vec(("x-[a-z]{1,10}", "[ -~]{0,40}"), 0..8),
        framing,
        prop::collection::vec(any::<u8>(), 0..2000),
        any::<bool>(),
    )
        .prop_map(|(status, headers, framing, body, close)| {
            let mut head = Vec::new();
            if status == 100 {
                // An interim answer before the real one.
                head.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
            let status = if status == 100 { 200 } else { status };
            head.extend_from_slice(format!("HTTP/1.1 {status} Whatever\r\n").as_bytes());
            for (name, value) in &headers {
                head.extend_from_slice(format!("{name}: {}\r\n", value.trim()).as_bytes());
            }
            let no_body = status == 204 || status == 304;
            let close = close || matches!(framing, Framing::Close) && !no_body;
            if close {
                head.extend_from_slice(b"Connection: close\r\n");
            }
            let mut payload = Vec::new();
            match &framing {
                _ if no_body => {}
                Framing::Length => {
                    head.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
                    payload = body.clone();
                }
                Framing::Chunked(sizes, ext) => {
                    head.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
                    let mut rest = &body[..];
                    for &size in sizes {
                        let (chunk, tail) = rest.split_at(size.min(rest.len()));
                        if chunk.is_empty() {
                            break;
                        }
                        let ext = if *ext { ";name=value" } else { "" };
                        payload.extend_from_slice(format!("{:X}{ext}\r\n", chunk.len()).as_bytes());
                        payload.extend_from_slice(chunk);
                        payload.extend_from_slice(b"\r\n");
                        rest = tail;
                    }
                    payload.extend_from_slice(b"0\r\nTrailer: t\r\n\r\n");
                }
                Framing::Close => payload = body.clone(),
            }
            head.extend_from_slice(b"\r\n");
            head.extend_from_slice(&payload);
            Response {
                bytes: head,
                status,
                keep_alive: !close,
            }
        })
}

/// Heads that claim what a server should not: huge or negative lengths,
/// both framings, chunk sizes past `usize`, lines without CR.
fn hostile_head() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nabc".to_vec()),
        Just(b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n".to_vec()),
        Just(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n".to_vec()),
        Just(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec()),
        Just(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nab\r\n0\r\n\r\n"
                .to_vec()
        ),
        Just(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nab".to_vec()),
        Just(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n".to_vec()),
        Just(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n".to_vec()),
        Just(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nab".to_vec()),
        Just(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n".to_vec()),
        Just(b"HTTP/1.1 999 Huh\r\nContent-Length: 0\r\n\r\n".to_vec()),
        Just(b"HTTP/1.0 101 Switching\r\n\r\n".to_vec()),
        Just(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n".to_vec()),
        Just(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n".to_vec()),
    ]
}

/// Serves `bytes` to the first request in pieces cut at `cuts`, then closes.
async fn serve(bytes: Vec<u8>, cuts: Vec<prop::sample::Index>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        let mut request = [0u8; 256];
        let _ = s.read(&mut request).await;
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        at.push(0);
        at.push(bytes.len());
        at.sort_unstable();
        for w in at.windows(2) {
            if s.write_all(&bytes[w[0]..w[1]]).await.is_err() {
                return;
            }
            let _ = s.flush().await;
            // The reader runs between pieces (one thread), so each is a read.
            tokio::task::yield_now().await;
        }
    });
    addr
}

/// Every exchange on one connection until an error or a close.
fn exchanges(bytes: Vec<u8>, cuts: Vec<prop::sample::Index>) -> Vec<Result<Outcome, ErrorKind>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let addr = serve(bytes, cuts).await;
        let mut c = H1::connect(addr).await.expect("connect");
        let mut out = Vec::new();
        // A hang is a failure; the bound is far above any honest read here.
        let all = tokio::time::timeout(Duration::from_secs(20), async {
            for _ in 0..3 {
                let got = c.exchange(GET, false).await;
                let stop = !matches!(got, Ok(Outcome { keep_alive: true, .. }));
                out.push(got);
                if stop {
                    break;
                }
            }
        })
        .await;
        assert!(all.is_ok(), "the reader hung after {out:?}");
        out
    })
}

fn cuts() -> impl Strategy<Value = Vec<prop::sample::Index>> {
    prop::collection::vec(any::<prop::sample::Index>(), 0..12)
}

proptest! {
    #![proptest_config(mutate::config(256))]

    #[test]
    fn well_formed_responses_read_the_same_however_split(r in response(), cuts in cuts()) {
        let got = exchanges(r.bytes.clone(), cuts);
        prop_assert_eq!(
            got[0],
            Ok(Outcome { status: r.status, keep_alive: r.keep_alive }),
            "{}",
            String::from_utf8_lossy(&r.bytes)
        );
        if r.keep_alive {
            // The server closed after one answer: the next is refused, not parsed.
            prop_assert_eq!(got.get(1).copied(), Some(Err(ErrorKind::ConnectionClosed)));
        }
    }

    #[test]
    fn edited_responses_are_responses_or_errors(r in response(), edits in mutate::bytes(), cuts in cuts()) {
        check(exchanges(mutate::apply_bytes(&r.bytes, &edits), cuts))?;
    }

    #[test]
    fn hostile_heads_are_responses_or_errors(head in hostile_head(), edits in mutate::bytes(), mutate in any::<bool>(), cuts in cuts()) {
        let bytes = if mutate { mutate::apply_bytes(&head, &edits) } else { head };
        check(exchanges(bytes, cuts))?;
    }

    #[test]
    fn arbitrary_bytes_are_responses_or_errors(bytes in prop::collection::vec(any::<u8>(), 0..600), cuts in cuts()) {
        check(exchanges(bytes, cuts))?;
    }
}

fn check(got: Vec<Result<Outcome, ErrorKind>>) -> Result<(), TestCaseError> {
    for o in got.iter().flatten() {
        prop_assert!(o.status <= 999, "{got:?}");
    }
    Ok(())
}

#[test]
fn endless_heads_and_chunk_lines_are_refused_without_reading_them_all() {
    // Megabytes that never end a line: refused once past the head limit,
    // long before the server is done (it is still writing when we stop).
    for (start, filler, len) in [
        (&b"HTTP/1.1 200 OK\r\n"[..], b'a', 64 << 20),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b'0',
            16 << 20,
        ),
    ] {
        let mut endless = start.to_vec();
        endless.extend(std::iter::repeat_n(filler, len));
        assert_eq!(exchanges(endless, Vec::new()), vec![Err(ErrorKind::Malformed)]);
    }
}
