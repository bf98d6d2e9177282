//! A lean HTTP/1.1 client connection for the generator's hot path: the
//! request is serialised once ([`serialize`]) and written with one call per
//! request; responses are parsed in place with `httparse` into a reused
//! buffer and their bodies skipped (Content-Length, chunked, or until close),
//! so a request allocates nothing. It sends one request at a time (no
//! pipelining), like wrk.

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use bytes::Bytes;
use httparse::Status;
use hyper::Method;
use hyper::header::{CONNECTION, CONTENT_LENGTH, HOST, HeaderMap, TRANSFER_ENCODING};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::record::ErrorKind;

/// Bytes asked of each read.
const READ_CHUNK: usize = 16 * 1024;
/// Longest response head (or chunk-size line and trailers) accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Most response headers parsed.
const MAX_HEADERS: usize = 100;

/// The wire form of a request: request line, headers, body.
///
/// `Host` comes from `authority` unless `headers` has one; the body is
/// framed by its `Content-Length` (a user's is dropped), or as one chunk when
/// `headers` has `Transfer-Encoding: chunked` (daprd's Wasm middleware needs
/// that to change a request body's length); `close` adds `Connection: close`.
pub(crate) fn serialize(
    method: &Method,
    path: &str,
    authority: &str,
    headers: &HeaderMap,
    body: &Bytes,
    close: bool,
) -> Bytes {
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut line = |name: &[u8], value: &[u8]| {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    };
    if !headers.contains_key(HOST) {
        line(b"host", authority.as_bytes());
    }
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING || (close && name == CONNECTION) {
            continue;
        }
        line(name.as_str().as_bytes(), value.as_bytes());
    }
    if close {
        line(b"connection", b"close");
    }
    let expects_body = !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    let chunked = headers
        .get(TRANSFER_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    if chunked {
        line(b"transfer-encoding", b"chunked");
        out.extend_from_slice(b"\r\n");
        if !body.is_empty() {
            out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        return Bytes::from(out);
    }
    if !body.is_empty() || expects_body {
        line(b"content-length", body.len().to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// How a response's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// What a response said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Status code.
    pub status: u16,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
}

/// One HTTP/1.1 connection.
pub struct H1 {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Parse position in `buf`.
    start: usize,
    /// End of the bytes read into `buf`.
    end: usize,
    /// The start of the last error response's body (status 400 and up), as
    /// far as it came with the head: what a report shows of the failures.
    error_body: Vec<u8>,
}

/// Most bytes of an error response's body kept as its example.
pub const ERROR_BODY_BYTES: usize = 200;

impl H1 {
    /// Connects to `addr` (no request sent).
    ///
    /// # Errors
    /// The connection could not be made.
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            error_body: Vec::new(),
        })
    }

    /// Whether the server closed (or broke) the idle connection. Costs no
    /// system call unless the socket became readable since the last response.
    pub(crate) fn closed_by_peer(&mut self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.stream.poll_read_ready(&mut cx) {
            Poll::Ready(Ok(())) => {
                self.make_room();
                match self.stream.try_read(&mut self.buf[self.end..]) {
                    Ok(0) => true,
                    // Unsolicited bytes: the next exchange refuses them.
                    Ok(n) => {
                        self.end += n;
                        false
                    }
                    Err(e) => e.kind() != io::ErrorKind::WouldBlock,
                }
            }
            Poll::Ready(Err(_)) => true,
            Poll::Pending => false,
        }
    }

    /// Sends `request` and reads the whole response. `head`: the request was
    /// a HEAD (the response has no body whatever its headers say).
    ///
    /// # Errors
    /// The [`ErrorKind`] the generator tallies: malformed, closed, broken body, I/O.
    pub async fn exchange(&mut self, request: &[u8], head: bool) -> Result<Outcome, ErrorKind> {
        if self.start != self.end {
            return Err(ErrorKind::Malformed);
        }
        self.start = 0;
        self.end = 0;
        self.stream.write_all(request).await.map_err(|e| transport(&e))?;
        loop {
            let (status, used, body, mut keep_alive) = loop {
                if let Some(parsed) = self.parse_head()? {
                    break parsed;
                }
                self.fill(ErrorKind::ConnectionClosed).await?;
            };
            self.start += used;
            let interim = (100..200).contains(&status);
            if interim && status != 101 {
                // 100 Continue and friends: the final response follows.
                continue;
            }
            let body = if head || interim || status == 204 || status == 304 {
                BodyKind::None
            } else {
                body
            };
            if status >= 400 {
                // Only on errors, into a reused buffer: the success path is untouched.
                let len = match body {
                    BodyKind::None => 0,
                    BodyKind::Length(n) => n.min(ERROR_BODY_BYTES),
                    BodyKind::Chunked | BodyKind::UntilClose => ERROR_BODY_BYTES,
                };
                let available = &self.buf[self.start..self.end];
                self.error_body.clear();
                self.error_body
                    .extend_from_slice(&available[..len.min(available.len())]);
            }
            match body {
                BodyKind::None => {}
                BodyKind::Length(n) => self.skip(n).await?,
                BodyKind::Chunked => self.skip_chunked().await?,
                BodyKind::UntilClose => {
                    self.skip_until_close().await?;
                    keep_alive = false;
                }
            }
            return Ok(Outcome { status, keep_alive });
        }
    }

    /// The response head at `start`, if complete: status, its length, how
    /// the body ends, keep-alive.
    fn parse_head(&self) -> Result<Option<(u16, usize, BodyKind, bool)>, ErrorKind> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        let used = match resp.parse(&self.buf[self.start..self.end]) {
            Ok(Status::Complete(used)) => used,
            Ok(Status::Partial) if self.end - self.start <= MAX_HEAD => return Ok(None),
            Ok(Status::Partial) | Err(_) => return Err(ErrorKind::Malformed),
        };
        let status = resp.code.ok_or(ErrorKind::Malformed)?;
        let mut keep_alive = resp.version == Some(1);
        let (mut length, mut chunked) = (None, false);
        for h in resp.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let n = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or(ErrorKind::Malformed)?;
                if length.is_some_and(|l| l != n) {
                    return Err(ErrorKind::Malformed);
                }
                length = Some(n);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = has_token(h.value, b"chunked");
            } else if h.name.eq_ignore_ascii_case("connection") {
                if has_token(h.value, b"close") {
                    keep_alive = false;
                } else if has_token(h.value, b"keep-alive") {
                    keep_alive = true;
                }
            }
        }
        let body = match (chunked, length) {
            (true, _) => BodyKind::Chunked,
            (false, Some(n)) => BodyKind::Length(n),
            (false, None) => BodyKind::UntilClose,
        };
        Ok(Some((status, used, body, keep_alive)))
    }

    /// The start of the last error response's body (raw: a chunked body
    /// keeps its chunk sizes).
    pub(crate) fn error_body(&self) -> &[u8] {
        &self.error_body
    }

    /// Room to read into: drops consumed bytes, grows if nearly full.
    fn make_room(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && self.buf.len() - self.end < READ_CHUNK / 4 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < READ_CHUNK / 4 {
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
    }

    /// Reads more; end of stream is `eof`.
    async fn fill(&mut self, eof: ErrorKind) -> Result<(), ErrorKind> {
        self.make_room();
        match self.stream.read(&mut self.buf[self.end..]).await {
            Ok(0) => Err(eof),
            Ok(n) => {
                self.end += n;
                Ok(())
            }
            Err(e) => Err(transport(&e)),
        }
    }

    async fn skip(&mut self, mut n: usize) -> Result<(), ErrorKind> {
        loop {
            let available = self.end - self.start;
            if available >= n {
                self.start += n;
                return Ok(());
            }
            n -= available;
            self.start = self.end;
            self.fill(ErrorKind::Body).await?;
        }
    }

    async fn skip_chunked(&mut self) -> Result<(), ErrorKind> {
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf[self.start..self.end]) {
                    Ok(Status::Complete((used, size))) => {
                        self.start += used;
                        break usize::try_from(size).map_err(|_| ErrorKind::Malformed)?;
                    }
                    Ok(Status::Partial) if self.end - self.start <= MAX_HEAD => {
                        self.fill(ErrorKind::Body).await?;
                    }
                    Ok(Status::Partial) | Err(_) => return Err(ErrorKind::Malformed),
                }
            };
            if size == 0 {
                return self.skip_trailers().await;
            }
            self.skip(size).await?;
            while self.end - self.start < 2 {
                self.fill(ErrorKind::Body).await?;
            }
            if &self.buf[self.start..self.start + 2] != b"\r\n" {
                return Err(ErrorKind::Malformed);
            }
            self.start += 2;
        }
    }

    /// Trailer fields after the last chunk, up to the empty line.
    async fn skip_trailers(&mut self) -> Result<(), ErrorKind> {
        loop {
            let rest = &self.buf[self.start..self.end];
            if rest.starts_with(b"\r\n") {
                self.start += 2;
                return Ok(());
            }
            if let Some(i) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
                self.start += i + 4;
                return Ok(());
            }
            if rest.len() > MAX_HEAD {
                return Err(ErrorKind::Malformed);
            }
            self.fill(ErrorKind::Body).await?;
        }
    }

    async fn skip_until_close(&mut self) -> Result<(), ErrorKind> {
        loop {
            self.start = self.end;
            match self.fill(ErrorKind::Body).await {
                Ok(()) => {}
                Err(ErrorKind::Body) => {
                    self.start = self.end;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether a comma-separated header value has `token` (any case).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

fn transport(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => ErrorKind::ConnectionClosed,
        _ => ErrorKind::Io,
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use super::*;

    #[test]
    fn requests_serialise_once_with_their_length() {
        // What goes on the wire to 127.0.0.1:9.
        let wire = |method: Method, path: &str, headers: &HeaderMap, body: &'static str, close: bool| {
            serialize(&method, path, "127.0.0.1:9", headers, &Bytes::from(body), close)
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-a", "1".parse().unwrap());
        headers.insert(CONTENT_LENGTH, "999".parse().unwrap());
        assert_eq!(
            &wire(Method::POST, "/p?q", &headers, "hi", true)[..],
            b"POST /p?q HTTP/1.1\r\nhost: 127.0.0.1:9\r\nx-a: 1\r\nconnection: close\r\ncontent-length: 2\r\n\r\nhi"
        );
        headers.clear();
        headers.insert(HOST, "example".parse().unwrap());
        assert_eq!(
            &wire(Method::GET, "/", &headers, "", false)[..],
            b"GET / HTTP/1.1\r\nhost: example\r\n\r\n"
        );
        let mut headers = HeaderMap::new();
        headers.insert(TRANSFER_ENCODING, "chunked".parse().unwrap());
        assert_eq!(
            &wire(Method::POST, "/m", &headers, "hello", false)[..],
            b"POST /m HTTP/1.1\r\nhost: 127.0.0.1:9\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        );
    }

    /// Serves `responses` (one per request, as raw bytes, each split in two
    /// writes to exercise partial reads), then closes.
    async fn server(responses: Vec<&'static [u8]>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            for r in responses {
                let _ = s.read(&mut buf).await.unwrap();
                let (a, b) = r.split_at(r.len() / 2);
                s.write_all(a).await.unwrap();
                s.flush().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                s.write_all(b).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn bodies_are_delimited_by_length_chunks_or_close() {
        let addr = server(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
        ])
        .await;
        let mut c = H1::connect(addr).await.unwrap();
        let get = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
        let ok = |status| {
            Ok(Outcome {
                status,
                keep_alive: true,
            })
        };
        assert_eq!(c.exchange(get, false).await, ok(200));
        assert_eq!(c.exchange(get, false).await, ok(503));
        assert_eq!(c.exchange(get, false).await, ok(204));
        assert_eq!(c.exchange(get, true).await, ok(200), "HEAD: no body");
        let last = c.exchange(get, false).await;
        assert_eq!(
            last,
            Ok(Outcome {
                status: 200,
                keep_alive: false
            })
        );
        assert_eq!(c.exchange(get, false).await, Err(ErrorKind::ConnectionClosed));
    }

    #[tokio::test]
    async fn broken_responses_are_errors() {
        for (response, kind) in [
            (
                &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"[..],
                ErrorKind::Body,
            ),
            (b"NOT HTTP\r\n\r\n", ErrorKind::Malformed),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                ErrorKind::Malformed,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                ErrorKind::Malformed,
            ),
            (b"HTTP/1.1 200 O", ErrorKind::ConnectionClosed),
        ] {
            let addr = server(vec![response]).await;
            let mut c = H1::connect(addr).await.unwrap();
            let got = c.exchange(b"GET / HTTP/1.1\r\n\r\n", false).await;
            assert_eq!(got, Err(kind), "{}", String::from_utf8_lossy(response));
        }
    }

    #[tokio::test]
    async fn an_idle_connection_closed_by_the_server_is_noticed() {
        let addr = server(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]).await;
        let mut c = H1::connect(addr).await.unwrap();
        assert!(c.exchange(b"GET / HTTP/1.1\r\n\r\n", false).await.is_ok());
        // The server task ends and drops its socket; let the reactor see it.
        let started = std::time::Instant::now();
        while !c.closed_by_peer() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "close not seen"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}
