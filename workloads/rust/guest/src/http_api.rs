//! The `http` flavour's Dapr client: the raw Dapr calls (the `dapr`
//! imports' semantics) carried out as requests to Dapr's HTTP API over one
//! generic transport: the `http` import of workloads/ABI.md (`http`
//! flavour), or `wasi:http/outgoing-handler` (`component` flavour).
//!
//! | call | request | success | mapped failures |
//! |---|---|---|---|
//! | `state_get` | `GET /v1.0/state/<store>/<key>` | 200: value, `etag` header | 204 → `NOT_FOUND` |
//! | `state_get_bulk` | `POST /v1.0/state/<store>/bulk` `{"keys":[…]}` | 200: `[{"key","data"?,"etag"?}…]`, no `data` → no value | an item's `error` → `UNAVAILABLE` |
//! | `state_set` | `POST /v1.0/state/<store>` `[{"key","value","etag"?,"options":{"concurrency"}}]` | 204 | 409 → `ETAG_MISMATCH` |
//! | `state_delete` | `DELETE /v1.0/state/<store>/<key>` (`If-Match`, `?concurrency=`) | 204 | 409 → `ETAG_MISMATCH` |
//! | `publish` | `POST /v1.0/publish/<pubsub>/<topic>` with `Content-Type` | 204 | |
//! | `invoke_binding` | `POST /v1.0/bindings/<name>` `{"data","operation"}` | 200/204: body | |
//!
//! Any 400 is `INVALID_ARGUMENT`, any other status `UNAVAILABLE`. Dapr's HTTP
//! API carries state values and binding data as JSON values (and re-encodes
//! them), so a value that is not JSON text is `INVALID_ARGUMENT` here rather
//! than silently stored as something else. `log` has no HTTP counterpart and
//! is dropped: the flavour imports nothing but `http`.
//!
//! The transport is a trait so the request building is tested natively
//! against recorded answers; the wasm build plugs in the import.

use std::cell::RefCell;

const INVALID_ARGUMENT: i64 = -3;
const NOT_FOUND: i64 = -1;
const ETAG_MISMATCH: i64 = -2;
const UNAVAILABLE: i64 = -4;
const NO_RESULT: i64 = -5;
const BUFFER_TOO_SMALL: i64 = -6;

/// One HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// The status code.
    pub status: u32,
    /// `(name, value)`, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP request to the sidecar.
pub trait Transport {
    /// `headers` are `Name: value\n` lines; `url` a path on the sidecar.
    ///
    /// # Errors
    /// The import's negative error code.
    fn request(&self, method: &str, url: &str, headers: &str, body: &[u8]) -> Result<Response, i64>;
}

/// The raw Dapr calls over a [`Transport`], with the result slot kept here.
#[derive(Debug, Default)]
pub struct DaprHttp<T> {
    transport: T,
    slot: RefCell<Option<Vec<u8>>>,
}

impl<T: Transport> DaprHttp<T> {
    /// A client sending through `transport`.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            slot: RefCell::new(None),
        }
    }

    /// The transport, for inspection.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    fn fill(&self, result: Vec<u8>) -> i64 {
        let len = result.len() as i64;
        *self.slot.borrow_mut() = Some(result);
        len
    }

    /// `dapr.state_get`.
    pub fn state_get(&self, store: &[u8], key: &[u8]) -> i64 {
        let url = format!("/v1.0/state/{}/{}", path_segment(store), path_segment(key));
        match self.transport.request("GET", &url, "", b"") {
            Ok(r) if r.status == 200 => {
                let etag = r.header("etag").unwrap_or_default().as_bytes();
                let mut result = Vec::with_capacity(4 + etag.len() + r.body.len());
                result.extend_from_slice(&(etag.len() as u32).to_le_bytes());
                result.extend_from_slice(etag);
                result.extend_from_slice(&r.body);
                self.fill(result)
            }
            Ok(r) if r.status == 204 => NOT_FOUND,
            Ok(r) => status_error(r.status),
            Err(code) => code,
        }
    }

    /// `dapr.state_get_bulk`: one bulk read; the answer (daprd's JSON array,
    /// in the store's order) is put back in the order asked, in the ABI's
    /// packed layout.
    pub fn state_get_bulk(&self, store: &[u8], keys: &[u8]) -> i64 {
        let Some(keys) = crate::dapr::decode_bulk_keys(keys) else {
            return INVALID_ARGUMENT;
        };
        let mut body = b"{\"keys\":[".to_vec();
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            crate::json::write_string(&mut body, key);
        }
        body.extend_from_slice(b"]}");
        let url = format!("/v1.0/state/{}/bulk", path_segment(store));
        let r = match self
            .transport
            .request("POST", &url, "Content-Type: application/json\n", &body)
        {
            Ok(r) if r.status == 200 => r,
            Ok(r) => return status_error(r.status),
            Err(code) => return code,
        };
        let Some(items) = parse_bulk_items(&r.body) else {
            return UNAVAILABLE;
        };
        let mut entries = Vec::with_capacity(keys.len());
        for key in &keys {
            match items.iter().find(|item| item.key == *key) {
                Some(item) if item.error => return UNAVAILABLE,
                Some(item) => entries.push(item.data.map(|data| crate::StateEntry {
                    value: data.to_vec(),
                    etag: item.etag.clone(),
                })),
                None => return UNAVAILABLE,
            }
        }
        self.fill(crate::dapr::encode_bulk_result(&entries))
    }

    /// `dapr.state_set`.
    pub fn state_set(&self, store: &[u8], key: &[u8], value: &[u8], etag: &[u8], concurrency: i32) -> i64 {
        let (Ok(key), Ok(etag), Some(concurrency)) = (
            std::str::from_utf8(key),
            std::str::from_utf8(etag),
            concurrency_name(concurrency),
        ) else {
            return INVALID_ARGUMENT;
        };
        if !is_json_text(value) {
            return INVALID_ARGUMENT;
        }
        let mut body = b"[{\"key\":".to_vec();
        crate::json::write_string(&mut body, key);
        body.extend_from_slice(b",\"value\":");
        body.extend_from_slice(value);
        if !etag.is_empty() {
            body.extend_from_slice(b",\"etag\":");
            crate::json::write_string(&mut body, etag);
        }
        body.extend_from_slice(b",\"options\":{\"concurrency\":\"");
        body.extend_from_slice(concurrency.as_bytes());
        body.extend_from_slice(b"\"}}]");
        let url = format!("/v1.0/state/{}", path_segment(store));
        self.no_content("POST", &url, "Content-Type: application/json\n", &body)
    }

    /// `dapr.state_delete`.
    pub fn state_delete(&self, store: &[u8], key: &[u8], etag: &[u8], concurrency: i32) -> i64 {
        let (Ok(etag), Some(concurrency)) = (std::str::from_utf8(etag), concurrency_name(concurrency)) else {
            return INVALID_ARGUMENT;
        };
        if etag.contains(['\r', '\n']) {
            return INVALID_ARGUMENT;
        }
        let url = format!(
            "/v1.0/state/{}/{}?concurrency={concurrency}",
            path_segment(store),
            path_segment(key)
        );
        let headers = if etag.is_empty() {
            String::new()
        } else {
            format!("If-Match: {etag}\n")
        };
        self.no_content("DELETE", &url, &headers, b"")
    }

    /// `dapr.publish`.
    pub fn publish(&self, pubsub: &[u8], topic: &[u8], data: &[u8], content_type: &[u8]) -> i64 {
        let content_type = match std::str::from_utf8(content_type) {
            Ok("") => "application/json",
            Ok(ct) if !ct.contains(['\r', '\n']) => ct,
            _ => return INVALID_ARGUMENT,
        };
        let url = format!("/v1.0/publish/{}/{}", path_segment(pubsub), path_segment(topic));
        self.no_content("POST", &url, &format!("Content-Type: {content_type}\n"), data)
    }

    /// `dapr.invoke_binding`.
    pub fn invoke_binding(&self, name: &[u8], operation: &[u8], data: &[u8]) -> i64 {
        let Ok(operation) = std::str::from_utf8(operation) else {
            return INVALID_ARGUMENT;
        };
        if !is_json_text(data) {
            return INVALID_ARGUMENT;
        }
        let mut body = b"{\"data\":".to_vec();
        body.extend_from_slice(data);
        body.extend_from_slice(b",\"operation\":");
        crate::json::write_string(&mut body, operation);
        body.push(b'}');
        let url = format!("/v1.0/bindings/{}", path_segment(name));
        match self
            .transport
            .request("POST", &url, "Content-Type: application/json\n", &body)
        {
            Ok(r) if r.status == 200 || r.status == 204 => self.fill(r.body),
            Ok(r) => status_error(r.status),
            Err(code) => code,
        }
    }

    /// `dapr.take_result`.
    pub fn take_result(&self, buf: &mut [u8]) -> i64 {
        let mut slot = self.slot.borrow_mut();
        match slot.as_deref() {
            None => NO_RESULT,
            Some(result) if result.len() > buf.len() => BUFFER_TOO_SMALL,
            Some(result) => {
                buf[..result.len()].copy_from_slice(result);
                let len = result.len() as i64;
                *slot = None;
                len
            }
        }
    }

    fn no_content(&self, method: &str, url: &str, headers: &str, body: &[u8]) -> i64 {
        match self.transport.request(method, url, headers, body) {
            Ok(r) if r.status == 204 || r.status == 200 => 0,
            Ok(r) if r.status == 409 => ETAG_MISMATCH,
            Ok(r) => status_error(r.status),
            Err(code) => code,
        }
    }
}

fn status_error(status: u32) -> i64 {
    if status == 400 {
        INVALID_ARGUMENT
    } else {
        UNAVAILABLE
    }
}

fn concurrency_name(concurrency: i32) -> Option<&'static str> {
    match concurrency {
        0 => Some("last-write"),
        1 => Some("first-write"),
        _ => None,
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a
/// key with `/`, `?`, `#` or spaces stays one path segment.
fn path_segment(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for &byte in raw {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether `bytes` are exactly one JSON value (RFC 8259, whitespace around
/// allowed), nested at most 64 deep. Checked before splicing a value into a
/// request body, where anything else would change the request's structure.
pub fn is_json_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut check = JsonCheck {
        b: text.as_bytes(),
        pos: 0,
    };
    check.ws();
    let ok = check.value(0).is_some();
    check.ws();
    ok && check.pos == check.b.len()
}

/// One item of daprd's bulk answer: the key, its `data` as JSON text
/// (absent: no value), its etag, and whether it carries an `error`.
#[derive(Debug, PartialEq, Eq)]
struct BulkItem<'a> {
    key: String,
    data: Option<&'a [u8]>,
    etag: Option<String>,
    error: bool,
}

/// Reads daprd's bulk answer, `[{"key":…,"data":…,"etag":…,"error":…}…]`
/// (other members skipped); `None` if it is not that shape.
fn parse_bulk_items(body: &[u8]) -> Option<Vec<BulkItem<'_>>> {
    let mut p = JsonCheck { b: body, pos: 0 };
    let mut items = Vec::new();
    p.ws();
    p.eat(b'[')?;
    p.ws();
    if p.eat(b']').is_none() {
        loop {
            p.ws();
            p.eat(b'{')?;
            let mut item = BulkItem {
                key: String::new(),
                data: None,
                etag: None,
                error: false,
            };
            let mut has_key = false;
            p.ws();
            if p.eat(b'}').is_none() {
                loop {
                    p.ws();
                    let name = p.span(|p| p.string())?;
                    p.ws();
                    p.eat(b':')?;
                    p.ws();
                    let value = p.span(|p| p.value(0))?;
                    match name {
                        b"\"key\"" => {
                            item.key = json_string(value)?;
                            has_key = true;
                        }
                        b"\"data\"" => item.data = Some(value),
                        b"\"etag\"" => item.etag = Some(json_string(value)?).filter(|e| !e.is_empty()),
                        b"\"error\"" => item.error = value != b"\"\"",
                        _ => {}
                    }
                    p.ws();
                    if p.eat(b',').is_none() {
                        p.eat(b'}')?;
                        break;
                    }
                }
            }
            if !has_key {
                return None;
            }
            items.push(item);
            p.ws();
            if p.eat(b',').is_none() {
                p.eat(b']')?;
                break;
            }
        }
    }
    p.ws();
    (p.pos == body.len()).then_some(items)
}

/// The text of a JSON string literal, unescaped.
fn json_string(literal: &[u8]) -> Option<String> {
    let object = [&b"{\"s\":"[..], literal, b"}"].concat();
    match crate::json::parse_object(&object).ok()?.get("s") {
        Some(crate::json::Value::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

struct JsonCheck<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> JsonCheck<'a> {
    /// The bytes `f` consumed, if it succeeded.
    fn span(&mut self, f: impl FnOnce(&mut Self) -> Option<()>) -> Option<&'a [u8]> {
        let start = self.pos;
        f(self)?;
        Some(&self.b[start..self.pos])
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }
    fn digits(&mut self) -> Option<()> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        (self.pos > start).then_some(())
    }
    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > 64 {
            return None;
        }
        match self.peek()? {
            b'{' | b'[' => {
                let close = if self.peek() == Some(b'{') { b'}' } else { b']' };
                self.pos += 1;
                self.ws();
                if self.eat(close).is_some() {
                    return Some(());
                }
                loop {
                    self.ws();
                    if close == b'}' {
                        self.string()?;
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                    }
                    self.value(depth + 1)?;
                    self.ws();
                    if self.eat(b',').is_none() {
                        return self.eat(close);
                    }
                }
            }
            b'"' => self.string(),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            _ => {
                self.eat(b'-');
                if self.eat(b'0').is_none() {
                    self.digits()?;
                }
                if self.eat(b'.').is_some() {
                    self.digits()?;
                }
                if matches!(self.peek(), Some(b'e' | b'E')) {
                    self.pos += 1;
                    if matches!(self.peek(), Some(b'+' | b'-')) {
                        self.pos += 1;
                    }
                    self.digits()?;
                }
                Some(())
            }
        }
    }
    fn word(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        (self.b.get(self.pos..end) == Some(word)).then(|| self.pos = end)
    }
    fn string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(());
                }
                0x00..=0x1f => return None,
                b'\\' => {
                    self.pos += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.pos += 1,
                        b'u' => {
                            let hex = self.b.get(self.pos + 1..self.pos + 5)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.pos += 5;
                        }
                        _ => return None,
                    }
                }
                _ => self.pos += 1,
            }
        }
    }
}

/// Splits the `http.request` result: `headers_len: u32 LE`, `Name: value\n`
/// lines, body.
pub fn parse_result(status: u32, mut raw: Vec<u8>) -> Result<Response, i64> {
    let Some((len, rest)) = raw.split_first_chunk::<4>() else {
        return Err(INVALID_ARGUMENT);
    };
    let headers_len = u32::from_le_bytes(*len) as usize;
    let Some(headers) = rest.get(..headers_len) else {
        return Err(INVALID_ARGUMENT);
    };
    let headers = String::from_utf8_lossy(headers)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = raw.split_off(4 + headers_len);
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// The `wasm32` builds: the `http` import (`http` flavour) or
/// `wasi:http/outgoing-handler` (`component` flavour) as the transport, one
/// client per instance, and the raw calls [`crate::raw`] re-exports.
#[cfg(all(target_arch = "wasm32", any(feature = "http", feature = "component")))]
pub(crate) mod wasm {
    use super::DaprHttp;
    #[cfg(feature = "http")]
    use super::{Response, Transport, parse_result};

    #[cfg(feature = "http")]
    mod sys {
        #[link(wasm_import_module = "http")]
        unsafe extern "C" {
            pub fn request(
                method: *const u8,
                method_len: usize,
                url: *const u8,
                url_len: usize,
                headers: *const u8,
                headers_len: usize,
                body: *const u8,
                body_len: usize,
            ) -> i64;
            pub fn take_result(buf: *mut u8, buf_len: usize) -> i64;
        }
    }

    /// The `http` import.
    #[cfg(feature = "http")]
    #[derive(Debug, Default)]
    pub(crate) struct Import;

    #[cfg(feature = "http")]
    impl Transport for Import {
        fn request(&self, method: &str, url: &str, headers: &str, body: &[u8]) -> Result<Response, i64> {
            // SAFETY: every pair describes a live slice; the host only reads
            // them.
            let ret = unsafe {
                sys::request(
                    method.as_ptr(),
                    method.len(),
                    url.as_ptr(),
                    url.len(),
                    headers.as_ptr(),
                    headers.len(),
                    body.as_ptr(),
                    body.len(),
                )
            };
            if ret < 0 {
                return Err(ret);
            }
            let status = (ret as u64 >> 32) as u32;
            let mut buf = vec![0u8; (ret as u64 & 0xffff_ffff) as usize];
            // SAFETY: the host writes at most `buf.len()` bytes into `buf`.
            let copied = unsafe { sys::take_result(buf.as_mut_ptr(), buf.len()) };
            if copied < 0 {
                return Err(copied);
            }
            buf.truncate(copied as usize);
            parse_result(status, buf)
        }
    }

    #[cfg(feature = "http")]
    fn transport() -> Import {
        Import
    }

    #[cfg(feature = "component")]
    fn transport() -> crate::component::Outgoing {
        crate::component::Outgoing::from_env()
    }

    #[cfg(feature = "http")]
    type Wire = Import;
    #[cfg(feature = "component")]
    type Wire = crate::component::Outgoing;

    thread_local! {
        static CLIENT: DaprHttp<Wire> = DaprHttp::new(transport());
    }

    pub fn state_get(store: &[u8], key: &[u8]) -> i64 {
        CLIENT.with(|c| c.state_get(store, key))
    }
    pub fn state_get_bulk(store: &[u8], keys: &[u8]) -> i64 {
        CLIENT.with(|c| c.state_get_bulk(store, keys))
    }
    pub fn state_set(store: &[u8], key: &[u8], value: &[u8], etag: &[u8], concurrency: i32) -> i64 {
        CLIENT.with(|c| c.state_set(store, key, value, etag, concurrency))
    }
    pub fn state_delete(store: &[u8], key: &[u8], etag: &[u8], concurrency: i32) -> i64 {
        CLIENT.with(|c| c.state_delete(store, key, etag, concurrency))
    }
    pub fn publish(pubsub: &[u8], topic: &[u8], data: &[u8], content_type: &[u8]) -> i64 {
        CLIENT.with(|c| c.publish(pubsub, topic, data, content_type))
    }
    pub fn invoke_binding(name: &[u8], operation: &[u8], data: &[u8]) -> i64 {
        CLIENT.with(|c| c.invoke_binding(name, operation, data))
    }
    pub fn log(_level: i32, _message: &[u8]) {}
    pub fn take_result(buf: &mut [u8]) -> i64 {
        CLIENT.with(|c| c.take_result(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// One request as sent: method, url, headers, body.
    type Sent = (String, String, String, Vec<u8>);

    /// Records every request and answers from a script.
    #[derive(Default)]
    struct Script {
        sent: RefCell<Vec<Sent>>,
        answers: RefCell<VecDeque<Result<Response, i64>>>,
    }

    impl Script {
        fn answering(answers: impl IntoIterator<Item = Result<Response, i64>>) -> DaprHttp<Self> {
            DaprHttp::new(Self {
                sent: RefCell::default(),
                answers: RefCell::new(answers.into_iter().collect()),
            })
        }
        fn sent(&self) -> Vec<(String, String, String, String)> {
            self.sent
                .borrow()
                .iter()
                .map(|(m, u, h, b)| {
                    (
                        m.clone(),
                        u.clone(),
                        h.clone(),
                        String::from_utf8_lossy(b).into_owned(),
                    )
                })
                .collect()
        }
    }

    impl Transport for Script {
        fn request(&self, method: &str, url: &str, headers: &str, body: &[u8]) -> Result<Response, i64> {
            self.sent
                .borrow_mut()
                .push((method.into(), url.into(), headers.into(), body.to_vec()));
            self.answers.borrow_mut().pop_front().expect("an answer left")
        }
    }

    fn status(status: u32) -> Result<Response, i64> {
        Ok(Response {
            status,
            ..Response::default()
        })
    }

    #[test]
    fn state_get_puts_etag_and_value_in_the_slot() {
        let client = Script::answering([
            Ok(Response {
                status: 200,
                headers: vec![("etag".into(), "7".into())],
                body: b"{\"n\":1}".to_vec(),
            }),
            status(204),
            status(500),
            Err(-4),
        ]);
        assert_eq!(client.state_get(b"statestore", b"a b/c"), 12);
        let mut buf = [0u8; 12];
        assert_eq!(client.take_result(&mut buf[..3]), BUFFER_TOO_SMALL);
        assert_eq!(client.take_result(&mut buf), 12);
        assert_eq!(&buf, b"\x01\x00\x00\x007{\"n\":1}");
        assert_eq!(client.take_result(&mut buf), NO_RESULT);
        assert_eq!(client.state_get(b"statestore", b"k"), NOT_FOUND);
        assert_eq!(client.state_get(b"statestore", b"k"), UNAVAILABLE);
        assert_eq!(client.state_get(b"statestore", b"k"), -4);
        assert_eq!(client.transport().sent()[0].1, "/v1.0/state/statestore/a%20b%2Fc");
    }

    #[test]
    fn state_get_bulk_posts_the_keys_and_answers_in_the_order_asked() {
        let answer = br#"[{"key":"b","etag":"4","data":12},{"key":"a\u00e9"},{"key":"c","data":{"n":[1, 2]},"metadata":{}}]"#;
        let client = Script::answering([
            Ok(Response {
                status: 200,
                headers: Vec::new(),
                body: answer.to_vec(),
            }),
            Ok(Response {
                status: 200,
                headers: Vec::new(),
                body: br#"[{"key":"a\u00e9","error":"boom"}]"#.to_vec(),
            }),
            status(500),
        ]);
        let keys = crate::dapr::encode_bulk_keys(&["a\u{e9}", "b", "c"]);
        let size = client.state_get_bulk(b"statestore", &keys);
        let mut buf = vec![0u8; size as usize];
        assert_eq!(client.take_result(&mut buf), size);
        let expected = crate::dapr::encode_bulk_result(&[
            None,
            Some(crate::StateEntry {
                value: b"12".to_vec(),
                etag: Some("4".into()),
            }),
            Some(crate::StateEntry {
                value: br#"{"n":[1, 2]}"#.to_vec(),
                etag: None,
            }),
        ]);
        assert_eq!(buf, expected);
        let sent = client.transport().sent();
        assert_eq!(
            (sent[0].0.as_str(), sent[0].1.as_str(), sent[0].3.as_str()),
            (
                "POST",
                "/v1.0/state/statestore/bulk",
                "{\"keys\":[\"a\u{e9}\",\"b\",\"c\"]}"
            )
        );
        let one = crate::dapr::encode_bulk_keys(&["a\u{e9}"]);
        assert_eq!(client.state_get_bulk(b"statestore", &one), UNAVAILABLE);
        assert_eq!(client.state_get_bulk(b"statestore", &one), UNAVAILABLE);
        // A bad key list is refused before any request.
        assert_eq!(
            client.state_get_bulk(b"statestore", &[0, 0, 0, 0]),
            INVALID_ARGUMENT
        );
        assert_eq!(client.transport().sent().len(), 3);
        // A key daprd did not answer, and an answer that is not the shape.
        assert_eq!(parse_bulk_items(b"[{\"data\":1}]"), None);
        assert_eq!(parse_bulk_items(b"{}"), None);
        assert_eq!(parse_bulk_items(b" [ ] ").unwrap(), Vec::new());
    }

    #[test]
    fn state_set_sends_a_first_write_save_and_maps_409() {
        let client = Script::answering([status(204), status(409), status(400)]);
        assert_eq!(
            client.state_set(b"statestore", b"k\"1", b"{\"count\":1}", b"3", 1),
            0
        );
        assert_eq!(client.state_set(b"statestore", b"k", b"2", b"", 1), ETAG_MISMATCH);
        assert_eq!(
            client.state_set(b"statestore", b"k", b"2", b"", 0),
            INVALID_ARGUMENT
        );
        let sent = client.transport().sent();
        assert_eq!(
            sent[0],
            (
                "POST".into(),
                "/v1.0/state/statestore".into(),
                "Content-Type: application/json\n".into(),
                r#"[{"key":"k\"1","value":{"count":1},"etag":"3","options":{"concurrency":"first-write"}}]"#
                    .into()
            )
        );
        assert_eq!(
            sent[1].3,
            r#"[{"key":"k","value":2,"options":{"concurrency":"first-write"}}]"#
        );
        assert!(sent[2].3.contains("\"last-write\""));
        // Refused before anything is sent.
        assert_eq!(
            client.state_set(b"statestore", b"k", b"1,\"x\":2", b"", 1),
            INVALID_ARGUMENT
        );
        assert_eq!(
            client.state_set(b"statestore", b"k", b"1", b"", 2),
            INVALID_ARGUMENT
        );
        assert_eq!(client.transport().sent().len(), 3);
    }

    #[test]
    fn publish_delete_and_bindings_build_their_requests() {
        let client = Script::answering([
            status(204),
            status(204),
            Ok(Response {
                status: 200,
                headers: vec![],
                body: b"out".to_vec(),
            }),
            status(404),
        ]);
        assert_eq!(client.publish(b"pubsub", b"aggregates", b"{}", b""), 0);
        assert_eq!(client.state_delete(b"statestore", b"k", b"9", 1), 0);
        assert_eq!(client.invoke_binding(b"b", b"create", b"\"x\""), 3);
        assert_eq!(client.publish(b"pubsub", b"t", b"x", b"text/plain"), UNAVAILABLE);
        let sent = client.transport().sent();
        assert_eq!(sent[0].1, "/v1.0/publish/pubsub/aggregates");
        assert_eq!(sent[0].2, "Content-Type: application/json\n");
        assert_eq!(sent[1].1, "/v1.0/state/statestore/k?concurrency=first-write");
        assert_eq!(sent[1].2, "If-Match: 9\n");
        assert_eq!(sent[2].3, r#"{"data":"x","operation":"create"}"#);
        assert_eq!(sent[3].2, "Content-Type: text/plain\n");
    }

    #[test]
    fn json_texts_are_told_from_anything_else() {
        for good in [
            "1",
            "-0.5e+3",
            " \"a\\u00e9\" ",
            "{\"a\":[1,{\"b\":null}],\"c\":true}",
            "[]",
            "{}",
        ] {
            assert!(is_json_text(good.as_bytes()), "{good}");
        }
        for bad in [
            "",
            "01x",
            "1,2",
            "{\"a\"}",
            "[1,]",
            "\"\\x\"",
            "tru",
            "{\"a\":1}}",
            "1.",
            "-",
        ] {
            assert!(!is_json_text(bad.as_bytes()), "{bad}");
        }
        assert!(!is_json_text(&[b'['; 100]));
    }

    #[test]
    fn import_results_split_into_headers_and_body() {
        let headers = b"ETag: 3\nX: y\n";
        let raw = [&(headers.len() as u32).to_le_bytes()[..], headers, b"body"].concat();
        let r = parse_result(200, raw).unwrap();
        assert_eq!(r.header("etag"), Some("3"));
        assert_eq!(r.header("x"), Some("y"));
        assert_eq!(r.body, b"body");
        assert_eq!(parse_result(200, vec![9, 0, 0, 0]), Err(INVALID_ARGUMENT));
    }
}
