//! `POST` a URL (`http://<authority><path>`): the component sends a `GET`
//! there through `wasi:http/outgoing-handler` and answers `status <code>`,
//! or `error <ErrorCode>` when the host refused or failed the request.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingRequest, Method, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam, Scheme,
};
use wasip2::io::streams::StreamError;

struct Reach;

wasip2::http::proxy::export!(Reach);

impl wasip2::exports::http::incoming_handler::Guest for Reach {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let url = String::from_utf8(read_body(request)).unwrap_or_default();
        let answer = match fetch(url.trim()) {
            Ok(status) => format!("status {status}"),
            Err(code) => format!("error {code:?}"),
        };
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("a response body");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("a body stream");
        stream
            .blocking_write_and_flush(answer.as_bytes())
            .expect("writing the answer");
        drop(stream);
        OutgoingBody::finish(body, None).expect("finishing the answer");
    }
}

fn read_body(request: IncomingRequest) -> Vec<u8> {
    let body = request.consume().expect("a request body");
    let mut bytes = Vec::new();
    {
        let stream = body.stream().expect("a body stream");
        loop {
            match stream.blocking_read(4096) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(_)) => break,
            }
        }
    }
    bytes
}

fn fetch(url: &str) -> Result<u16, ErrorCode> {
    let rest = url
        .strip_prefix("http://")
        .ok_or(ErrorCode::HttpRequestUriInvalid)?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let request = OutgoingRequest::new(Fields::new());
    let set = request.set_method(&Method::Get).is_ok()
        && request.set_scheme(Some(&Scheme::Http)).is_ok()
        && request.set_authority(Some(authority)).is_ok()
        && request
            .set_path_with_query(Some(if path.is_empty() { "/" } else { path }))
            .is_ok();
    if !set {
        return Err(ErrorCode::HttpRequestUriInvalid);
    }
    let future = outgoing_handler::handle(request, None)?;
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => Ok(response.status()),
        Some(Ok(Err(code))) => Err(code),
        _ => Err(ErrorCode::InternalError(Some("no response".into()))),
    }
}
