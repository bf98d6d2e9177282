"""``_bb`` of the component flavour: the raw Dapr calls ``blueprint`` makes,
carried out as requests to Dapr's HTTP API through
``wasi:http/outgoing-handler`` (the ``http_api.rs`` client of the Rust
guest, in Python).

Each function takes and returns what the C ``_bb`` of the embedded flavour
does (runtime/bb_python.c): ``str`` names, ``bytes`` data, ``0`` or a
negative ABI error code, ``(etag, value)`` for ``state_get``, the data for
``invoke_binding``.

| call | request | success | mapped failures |
|---|---|---|---|
| ``state_get`` | ``GET /v1.0/state/<store>/<key>`` | 200: value, ``etag`` header | 204: NOT_FOUND |
| ``state_set`` | ``POST /v1.0/state/<store>`` ``[{"key","value","etag"?,"options":{"concurrency"}}]`` | 204 | 409: ETAG_MISMATCH |
| ``state_delete`` | ``DELETE /v1.0/state/<store>/<key>`` (``If-Match``, ``?concurrency=``) | 204 | 409: ETAG_MISMATCH |
| ``publish`` | ``POST /v1.0/publish/<pubsub>/<topic>`` with ``Content-Type`` | 204 | |
| ``invoke_binding`` | ``POST /v1.0/bindings/<name>`` ``{"data","operation"}`` | 200/204: body | |

Any 400 is INVALID_ARGUMENT, any other status UNAVAILABLE, and so is a
daprd that cannot be reached. State values and binding data travel as JSON
values, so anything that is not JSON text is INVALID_ARGUMENT before a
request is sent. ``log`` has no HTTP counterpart and is dropped.

Where daprd is comes from the environment, read on every call (the
interpreter was initialised when the component was built, not in the
instance): ``DAPR_HTTP_PORT`` on 127.0.0.1 (default 3500), and
``DAPR_API_TOKEN`` sent as ``dapr-api-token`` when set.
"""

import os

from componentize_py_types import Err, Ok
from wit_world.imports import outgoing_handler
from wit_world.imports.types import (
    Fields,
    IncomingBody,
    Method_Delete,
    Method_Get,
    Method_Post,
    OutgoingBody,
    OutgoingRequest,
    Scheme_Http,
)

NOT_FOUND = -1
ETAG_MISMATCH = -2
INVALID_ARGUMENT = -3
UNAVAILABLE = -4

# The largest body read, as the Rust host's limit (64 MiB).
MAX_BODY = 64 << 20
# What blocking_write_and_flush takes at once.
_WRITE_CHUNK = 4096
_READ_CHUNK = 64 * 1024

_METHODS = {"GET": Method_Get, "POST": Method_Post, "DELETE": Method_Delete}
_CONCURRENCY = {0: "last-write", 1: "first-write"}
_JSON = [("content-type", "application/json")]
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


# ---- the raw calls ------------------------------------------------------------


def state_get(store, key):
    """``(etag or None, value)``, NOT_FOUND, or an error code."""
    response = _send("GET", f"/v1.0/state/{_segment(store)}/{_segment(key)}", [], b"")
    if isinstance(response, int):
        return response
    status, headers, body = response
    if status == 200:
        return _header(headers, "etag") or None, body
    if status == 204:
        return NOT_FOUND
    return _status_error(status)


def state_set(store, key, value, etag, concurrency):
    concurrency = _CONCURRENCY.get(concurrency)
    if concurrency is None or not is_json_text(value):
        return INVALID_ARGUMENT
    body = b'[{"key":' + _json_string(key) + b',"value":' + bytes(value)
    if etag:
        body += b',"etag":' + _json_string(etag)
    body += b',"options":{"concurrency":"' + concurrency.encode() + b'"}}]'
    return _no_content("POST", f"/v1.0/state/{_segment(store)}", _JSON, body)


def state_delete(store, key, etag, concurrency):
    concurrency = _CONCURRENCY.get(concurrency)
    if concurrency is None or "\r" in etag or "\n" in etag:
        return INVALID_ARGUMENT
    url = f"/v1.0/state/{_segment(store)}/{_segment(key)}?concurrency={concurrency}"
    headers = [("if-match", etag)] if etag else []
    return _no_content("DELETE", url, headers, b"")


def publish(pubsub, topic, data, content_type):
    content_type = content_type or "application/json"
    if "\r" in content_type or "\n" in content_type:
        return INVALID_ARGUMENT
    url = f"/v1.0/publish/{_segment(pubsub)}/{_segment(topic)}"
    return _no_content("POST", url, [("content-type", content_type)], bytes(data))


def invoke_binding(name, operation, data):
    """The binding's response data, or an error code."""
    if not is_json_text(data):
        return INVALID_ARGUMENT
    body = b'{"data":' + bytes(data) + b',"operation":' + _json_string(operation) + b"}"
    response = _send("POST", f"/v1.0/bindings/{_segment(name)}", _JSON, body)
    if isinstance(response, int):
        return response
    status, _, answer = response
    return answer if status in (200, 204) else _status_error(status)


def log(level, message):
    """Dropped: Dapr's HTTP API has no log."""


def _no_content(method, url, headers, body):
    response = _send(method, url, headers, body)
    if isinstance(response, int):
        return response
    status = response[0]
    if status in (200, 204):
        return 0
    if status == 409:
        return ETAG_MISMATCH
    return _status_error(status)


def _status_error(status):
    return INVALID_ARGUMENT if status == 400 else UNAVAILABLE


def _header(headers, name):
    for n, value in headers:
        if n == name:
            return value
    return None


def _segment(text):
    """Percent-encodes everything but RFC 3986's unreserved characters, so a
    key with ``/``, ``?``, ``#`` or spaces stays one path segment."""
    return "".join(chr(b) if b in _UNRESERVED else "%%%02X" % b for b in text.encode())


def _json_string(text):
    out = bytearray(b'"')
    for b in text.encode():
        if b == 0x22 or b == 0x5C:
            out += b"\\" + bytes((b,))
        elif b < 0x20:
            out += b"\\u%04x" % b
        else:
            out.append(b)
    out += b'"'
    return bytes(out)


# ---- JSON text check ------------------------------------------------------------

_WS = b" \t\n\r"
_DIGITS = b"0123456789"
_HEX = b"0123456789abcdefABCDEF"


def is_json_text(data):
    """Whether ``data`` is exactly one JSON value (RFC 8259, whitespace around
    allowed), nested at most 64 deep: checked before splicing it into a
    request body, where anything else would change the request's shape."""
    data = bytes(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    check = _JsonCheck(data)
    check.ws()
    ok = check.value(0)
    check.ws()
    return ok and check.pos == len(data)


class _JsonCheck:
    __slots__ = ("b", "pos")

    def __init__(self, b):
        self.b = b
        self.pos = 0

    def peek(self):
        return self.b[self.pos] if self.pos < len(self.b) else None

    def ws(self):
        while self.pos < len(self.b) and self.b[self.pos] in _WS:
            self.pos += 1

    def eat(self, byte):
        if self.peek() == byte:
            self.pos += 1
            return True
        return False

    def digits(self):
        start = self.pos
        while self.pos < len(self.b) and self.b[self.pos] in _DIGITS:
            self.pos += 1
        return self.pos > start

    def word(self, word):
        if self.b.startswith(word, self.pos):
            self.pos += len(word)
            return True
        return False

    def value(self, depth):
        if depth > 64:
            return False
        c = self.peek()
        if c is None:
            return False
        if c == 0x7B or c == 0x5B:  # { [
            close = 0x7D if c == 0x7B else 0x5D
            self.pos += 1
            self.ws()
            if self.eat(close):
                return True
            while True:
                self.ws()
                if close == 0x7D:
                    if not self.string():
                        return False
                    self.ws()
                    if not self.eat(0x3A):  # :
                        return False
                    self.ws()
                if not self.value(depth + 1):
                    return False
                self.ws()
                if not self.eat(0x2C):  # ,
                    return self.eat(close)
        if c == 0x22:
            return self.string()
        if c == 0x74:
            return self.word(b"true")
        if c == 0x66:
            return self.word(b"false")
        if c == 0x6E:
            return self.word(b"null")
        self.eat(0x2D)  # -
        if not self.eat(0x30) and not self.digits():
            return False
        if self.eat(0x2E) and not self.digits():  # .
            return False
        if self.peek() in (0x65, 0x45):  # e E
            self.pos += 1
            if self.peek() in (0x2B, 0x2D):
                self.pos += 1
            if not self.digits():
                return False
        return True

    def string(self):
        if not self.eat(0x22):
            return False
        b = self.b
        while True:
            c = self.peek()
            if c is None or c < 0x20:
                return False
            self.pos += 1
            if c == 0x22:
                return True
            if c != 0x5C:
                continue
            e = self.peek()
            if e is None:
                return False
            if e in b'"\\/bfnrt':
                self.pos += 1
            elif e == 0x75:  # u
                digits = b[self.pos + 1 : self.pos + 5]
                if len(digits) != 4 or any(d not in _HEX for d in digits):
                    return False
                self.pos += 5
            else:
                return False


# ---- the transport: wasi:http/outgoing-handler ---------------------------------


def _send(method, url, headers, body):
    """``(status, [(name, value)], body)`` of one request to daprd, names
    lower-case; UNAVAILABLE when it cannot be sent or answered."""
    try:
        return _exchange(method, url, headers, body)
    except Err:
        return UNAVAILABLE


def _exchange(method, url, headers, body):
    fields = Fields()
    for name, value in headers:
        fields.append(name, value.encode())
    # A known length, so the body is not sent chunked (a GET then carries
    # no body at all).
    if body:
        fields.append("content-length", str(len(body)).encode())
    token = os.environ.get("DAPR_API_TOKEN")
    if token:
        fields.append("dapr-api-token", token.encode())
    port = os.environ.get("DAPR_HTTP_PORT") or "3500"
    request = OutgoingRequest(fields)
    request.set_method(_METHODS[method]())
    request.set_scheme(Scheme_Http())
    request.set_authority(f"127.0.0.1:{port}")
    request.set_path_with_query(url)
    outgoing = request.body()
    # Sent first, written after: the host may take the body only once the
    # request is under way.
    with outgoing_handler.handle(request, None) as future:
        if body:
            with outgoing.write() as stream:
                write_all(stream, body)
        OutgoingBody.finish(outgoing, None)
        with future.subscribe() as ready:
            ready.block()
        got = future.get()
        if not (isinstance(got, Ok) and isinstance(got.value, Ok)):
            return UNAVAILABLE
        with got.value.value as response:
            status = response.status()
            with response.headers() as fields:
                entries = [(n.lower(), v.decode("utf-8", "replace")) for n, v in fields.entries()]
            incoming = response.consume()
            with incoming.stream() as stream:
                answer = read_all(stream, MAX_BODY)
            with IncomingBody.finish(incoming):
                pass
    if answer is None:
        return UNAVAILABLE
    return status, entries, answer


def read_all(stream, limit):
    """Everything ``stream`` yields, or ``None`` past ``limit`` bytes."""
    data = bytearray()
    while True:
        try:
            data += stream.blocking_read(_READ_CHUNK)
        except Err:  # closed, or the last operation failed: the end
            return bytes(data)
        if len(data) > limit:
            return None


def write_all(stream, data):
    """Writes ``data`` in the chunks ``blocking_write_and_flush`` takes."""
    view = memoryview(data)
    for start in range(0, len(view), _WRITE_CHUNK):
        stream.blocking_write_and_flush(bytes(view[start : start + _WRITE_CHUNK]))
