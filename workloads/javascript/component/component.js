// The `component` flavour's glue (workloads/ABI.md, "component" flavour):
// build.mjs puts guest.js and one workload in place of the marker in
// `bbHandle` below, and componentize-js builds the module into a
// `wasi:http/proxy` component (the world in workloads/wit/world.wit).
//
// - Incoming: the raw `wasi:http/incoming-handler` export. `POST` (any
//   path) runs the workload's `handle` on the body: 200 with the answer, 422
//   with the message when it throws; a body over 64 MiB is 413, any other
//   method 405. As the Rust guest's component.rs.
// - Outgoing: the `__bb` natives guest.js builds `dapr` on send Dapr HTTP
//   API requests through `wasi:http/outgoing-handler`, synchronously (the
//   future's pollable is blocked on), to 127.0.0.1:$DAPR_HTTP_PORT with
//   `dapr-api-token: $DAPR_API_TOKEN` when set, and map the answers to the
//   ABI's error codes: the requests, bodies and mapping of the Rust guest's
//   http_api.rs. `log` has no HTTP counterpart and is dropped.
//
// componentize-js evaluates this module (so guest.js and the workload) at
// build time and snapshots the result (Wizer): an instance starts with the
// workload loaded. Nothing read at that time may depend on the request's
// host, so the environment is read on the first Dapr call.

import { handle as sendOutgoing } from "wasi:http/outgoing-handler@0.2.12";
import {
    Fields,
    IncomingBody,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    ResponseOutparam,
} from "wasi:http/types@0.2.12";
import { getEnvironment } from "wasi:cli/environment@0.2.12";

/** The largest request (and Dapr answer) body read, as the Rust guest (64 MiB). */
const BB_MAX_BODY = 64 * 1024 * 1024;
/** Bytes asked for per read. */
const BB_READ_CHUNK = 64n * 1024n;
/** Bytes per `blocking-write-and-flush` (its limit is 4096). */
const BB_WRITE_CHUNK = 4096;

const BB_NOT_FOUND = -1;
const BB_ETAG_MISMATCH = -2;
const BB_INVALID_ARGUMENT = -3;
const BB_UNAVAILABLE = -4;

const bbEncoder = new TextEncoder();
// `fatal`: invalid UTF-8 is refused; `ignoreBOM`: a leading U+FEFF is
// kept, as Rust's `String::from_utf8` keeps it.
const bbDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Drops a resource handle now rather than when the collector finds it:
 * a child (a stream, a body) must go before its parent is finished.
 */
function bbDrop(resource) {
    if (resource === undefined || resource === null) return;
    try {
        resource[Symbol.dispose]();
    } catch {
        // already moved or dropped
    }
}

// ---- the engine's names for values, as QuickJS (rquickjs) reports them ----

/** The type name rquickjs gives `value` (`Value::type_name`). */
function bbTypeName(value) {
    switch (typeof value) {
        case "undefined":
            return "undefined";
        case "boolean":
            return "bool";
        case "number":
            return Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff && !Object.is(value, -0)
                ? "int"
                : "float";
        case "string":
            return "string";
        case "symbol":
            return "symbol";
        case "bigint":
            return "big_int";
        case "function":
            return bbIsConstructor(value) ? "constructor" : "function";
        default:
            if (value === null) return "null";
            if (Array.isArray(value)) return "array";
            if (value instanceof Promise) return "promise";
            if (value instanceof Error) return "exception";
            return "object";
    }
}

function bbIsConstructor(f) {
    try {
        Reflect.construct(String, [], f);
        return true;
    } catch {
        return false;
    }
}

/** The bytes of a `Uint8Array` or `ArrayBuffer` (a copy); `undefined` otherwise. */
function bbBytesOf(value) {
    if (value instanceof Uint8Array) return value.slice();
    if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
    return undefined;
}

/** A bytes argument: a string (as UTF-8), a `Uint8Array` or an `ArrayBuffer`. */
function bbBytesArg(value) {
    if (typeof value === "string") return bbEncoder.encode(value);
    const bytes = bbBytesOf(value);
    if (bytes === undefined) {
        throw new TypeError(`expected a string, Uint8Array or ArrayBuffer, not ${bbTypeName(value)}`);
    }
    return bytes;
}

/** The guest error message for a thrown value (engine/src/engine.rs). */
function bbThrownMessage(thrown) {
    if (typeof thrown === "string") return thrown;
    if (thrown !== null && (typeof thrown === "object" || typeof thrown === "function")) {
        const message = thrown.message;
        const name = thrown.name;
        if (typeof message === "string") {
            return typeof name !== "string" || name === "Error" ? message : `${name}: ${message}`;
        }
    }
    return `the workload threw a ${bbTypeName(thrown)}`;
}

/** What `handle` returned, as the response bytes; throws the guest error. */
function bbOutputBytes(value) {
    if (typeof value === "string") {
        if (!value.isWellFormed()) {
            throw "handle returned a string that is not valid Unicode";
        }
        return bbEncoder.encode(value);
    }
    const bytes = bbBytesOf(value);
    if (bytes === undefined) {
        throw `handle must return a string or a Uint8Array, not ${bbTypeName(value)}`;
    }
    return bytes;
}

// ---- Dapr's HTTP API (the Rust guest's http_api.rs) ----

/** daprd's authority and token, read from the environment on first use. */
let bbSidecar;

function bbDaprd() {
    if (bbSidecar === undefined) {
        const env = new Map(getEnvironment());
        const token = env.get("DAPR_API_TOKEN");
        bbSidecar = {
            // Dapr's SDKs default to 3500.
            authority: `127.0.0.1:${env.get("DAPR_HTTP_PORT") ?? "3500"}`,
            token: token === undefined || token === "" ? undefined : token,
        };
    }
    return bbSidecar;
}

/** Everything `stream` yields, or `undefined` past `limit` bytes. */
function bbReadAll(stream, limit) {
    const chunks = [];
    let length = 0;
    for (;;) {
        let chunk;
        try {
            chunk = stream.blockingRead(BB_READ_CHUNK);
        } catch {
            break; // closed, or the last operation failed: the end
        }
        chunks.push(chunk);
        length += chunk.length;
        if (length > limit) return undefined;
    }
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
        bytes.set(chunk, at);
        at += chunk.length;
    }
    return bytes;
}

/** Writes `bytes` in the chunks `blocking-write-and-flush` takes; false on failure. */
function bbWriteAll(stream, bytes) {
    try {
        for (let at = 0; at < bytes.length; at += BB_WRITE_CHUNK) {
            stream.blockingWriteAndFlush(bytes.subarray(at, at + BB_WRITE_CHUNK));
        }
        return true;
    } catch {
        return false;
    }
}

/**
 * One request to daprd: `{status, headers: Map (lower-case names), body}`,
 * or the ABI code `UNAVAILABLE` when it gets no answer. `headers` are
 * `[name, value]` pairs.
 */
function bbRequest(method, path, headers, body) {
    const sidecar = bbDaprd();
    const fields = new Fields();
    let request;
    let outgoing;
    let future;
    let incoming;
    let responseHeaders;
    let incomingBody;
    try {
        for (const [name, value] of headers) {
            fields.append(name.toLowerCase(), bbEncoder.encode(value));
        }
        // A known length, so the body is not sent chunked (a GET then
        // carries no body at all).
        if (body.length > 0) {
            fields.append("content-length", bbEncoder.encode(String(body.length)));
        }
        if (sidecar.token !== undefined) {
            fields.append("dapr-api-token", bbEncoder.encode(sidecar.token));
        }
        request = new OutgoingRequest(fields);
        request.setMethod({ tag: method });
        request.setScheme({ tag: "HTTP" });
        request.setAuthority(sidecar.authority);
        request.setPathWithQuery(path);
        outgoing = request.body();
        // Sent first, written after: the host may take the body only once
        // the request is under way.
        const sending = request;
        request = undefined; // moved into the call
        future = sendOutgoing(sending, undefined);
        if (body.length > 0) {
            const stream = outgoing.write();
            const written = bbWriteAll(stream, body);
            bbDrop(stream);
            if (!written) return BB_UNAVAILABLE;
        }
        const finishing = outgoing;
        outgoing = undefined; // moved into the call
        OutgoingBody.finish(finishing, undefined);
        const pollable = future.subscribe();
        pollable.block();
        bbDrop(pollable);
        const got = future.get();
        if (got === undefined || got.tag !== "ok" || got.val.tag !== "ok") {
            return BB_UNAVAILABLE;
        }
        incoming = got.val.val;
        const status = incoming.status();
        responseHeaders = incoming.headers();
        const answerHeaders = new Map();
        for (const [name, value] of responseHeaders.entries()) {
            const key = name.toLowerCase();
            if (!answerHeaders.has(key)) {
                answerHeaders.set(key, new TextDecoder().decode(value));
            }
        }
        bbDrop(responseHeaders);
        responseHeaders = undefined;
        incomingBody = incoming.consume();
        const stream = incomingBody.stream();
        const bytes = bbReadAll(stream, BB_MAX_BODY);
        bbDrop(stream);
        const read = incomingBody;
        incomingBody = undefined; // moved into the call
        bbDrop(IncomingBody.finish(read));
        if (bytes === undefined) return BB_UNAVAILABLE;
        return { status, headers: answerHeaders, body: bytes };
    } catch {
        return BB_UNAVAILABLE;
    } finally {
        bbDrop(responseHeaders);
        bbDrop(incomingBody);
        bbDrop(incoming);
        bbDrop(future);
        bbDrop(outgoing);
        bbDrop(request);
    }
}

/** Any 400 is `INVALID_ARGUMENT`, any other status `UNAVAILABLE`. */
function bbStatusError(status) {
    return status === 400 ? BB_INVALID_ARGUMENT : BB_UNAVAILABLE;
}

function bbConcurrencyName(concurrency) {
    return concurrency === 0 ? "last-write" : concurrency === 1 ? "first-write" : undefined;
}

/**
 * Percent-encodes everything but RFC 3986's unreserved characters, so a key
 * with `/`, `?`, `#` or spaces stays one path segment.
 */
function bbPathSegment(text) {
    let out = "";
    for (const byte of bbEncoder.encode(text)) {
        const c = String.fromCharCode(byte);
        if (/[A-Za-z0-9\-._~]/.test(c)) {
            out += c;
        } else {
            out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
        }
    }
    return out;
}

/** `text` as a JSON string: only `"`, `\` and U+0000-U+001F escaped (lower-case hex). */
function bbJsonString(text) {
    let out = '"';
    for (const c of text) {
        const code = c.charCodeAt(0);
        if (c === '"' || c === "\\") {
            out += "\\" + c;
        } else if (code < 0x20) {
            out += "\\u00" + code.toString(16).padStart(2, "0");
        } else {
            out += c;
        }
    }
    return out + '"';
}

/**
 * Whether `bytes` are exactly one JSON value (RFC 8259, whitespace around
 * allowed), nested at most 64 deep: checked before splicing a value into a
 * request body.
 */
function bbIsJsonText(bytes) {
    let text;
    try {
        text = bbDecoder.decode(bytes);
    } catch {
        return false;
    }
    let i = 0;
    const peek = () => text[i];
    const ws = () => {
        while (i < text.length && " \t\n\r".includes(text[i])) i++;
    };
    const eat = (c) => {
        if (text[i] !== c) return false;
        i++;
        return true;
    };
    const digits = () => {
        const start = i;
        while (i < text.length && text[i] >= "0" && text[i] <= "9") i++;
        return i > start;
    };
    const word = (w) => {
        if (text.slice(i, i + w.length) !== w) return false;
        i += w.length;
        return true;
    };
    const string = () => {
        if (!eat('"')) return false;
        for (;;) {
            if (i >= text.length) return false;
            const c = text[i];
            if (c === '"') {
                i++;
                return true;
            }
            if (c.charCodeAt(0) < 0x20) return false;
            if (c === "\\") {
                i++;
                const e = text[i];
                if (e !== undefined && '"\\/bfnrt'.includes(e)) {
                    i++;
                } else if (e === "u") {
                    if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) return false;
                    i += 5;
                } else {
                    return false;
                }
            } else {
                i++;
            }
        }
    };
    const value = (depth) => {
        if (depth > 64 || i >= text.length) return false;
        const c = peek();
        if (c === "{" || c === "[") {
            const close = c === "{" ? "}" : "]";
            i++;
            ws();
            if (eat(close)) return true;
            for (;;) {
                ws();
                if (close === "}") {
                    if (!string()) return false;
                    ws();
                    if (!eat(":")) return false;
                    ws();
                }
                if (!value(depth + 1)) return false;
                ws();
                if (!eat(",")) return eat(close);
            }
        }
        if (c === '"') return string();
        if (c === "t") return word("true");
        if (c === "f") return word("false");
        if (c === "n") return word("null");
        eat("-");
        if (!eat("0") && !digits()) return false;
        if (eat(".") && !digits()) return false;
        if (peek() === "e" || peek() === "E") {
            i++;
            if (peek() === "+" || peek() === "-") i++;
            if (!digits()) return false;
        }
        return true;
    };
    ws();
    const ok = value(0);
    ws();
    return ok && i === text.length;
}

/** A request whose success is 204 (or 200) and nothing else: 0, or the code. */
function bbNoContent(method, path, headers, body) {
    const r = bbRequest(method, path, headers, body);
    if (typeof r === "number") return r;
    if (r.status === 204 || r.status === 200) return 0;
    if (r.status === 409) return BB_ETAG_MISMATCH;
    return bbStatusError(r.status);
}

const BB_JSON = [["Content-Type", "application/json"]];

/** The natives guest.js builds `dapr` and `utf8` on (engine/src/dapr.rs's). */
const bbNatives = Object.freeze({
    utf8Decode(bytes) {
        const raw = bbBytesArg(bytes);
        try {
            return bbDecoder.decode(raw);
        } catch {
            return undefined; // invalid UTF-8: workloads make it their own error
        }
    },
    utf8Encode(text) {
        return bbEncoder.encode(text);
    },
    // stateGet(store, key) -> {etag: string | null, value: Uint8Array} | code
    stateGet(store, key) {
        const path = `/v1.0/state/${bbPathSegment(store)}/${bbPathSegment(key)}`;
        const r = bbRequest("get", path, [], new Uint8Array(0));
        if (typeof r === "number") return r;
        if (r.status === 200) {
            const etag = r.headers.get("etag") ?? "";
            return { etag: etag === "" ? null : etag, value: r.body };
        }
        if (r.status === 204) return BB_NOT_FOUND;
        return bbStatusError(r.status);
    },
    // stateSet(store, key, value, etag, concurrency) -> code
    stateSet(store, key, value, etag, concurrency) {
        const bytes = bbBytesArg(value);
        const name = bbConcurrencyName(concurrency);
        if (name === undefined || !key.isWellFormed() || !etag.isWellFormed() || !bbIsJsonText(bytes)) {
            return BB_INVALID_ARGUMENT;
        }
        let body = `[{"key":${bbJsonString(key)},"value":`;
        let tail = "";
        if (etag !== "") tail += `,"etag":${bbJsonString(etag)}`;
        tail += `,"options":{"concurrency":"${name}"}}]`;
        const head = bbEncoder.encode(body);
        const end = bbEncoder.encode(tail);
        const whole = new Uint8Array(head.length + bytes.length + end.length);
        whole.set(head, 0);
        whole.set(bytes, head.length);
        whole.set(end, head.length + bytes.length);
        return bbNoContent("post", `/v1.0/state/${bbPathSegment(store)}`, BB_JSON, whole);
    },
    // stateDelete(store, key, etag, concurrency) -> code
    stateDelete(store, key, etag, concurrency) {
        const name = bbConcurrencyName(concurrency);
        if (name === undefined || !etag.isWellFormed() || /[\r\n]/.test(etag)) {
            return BB_INVALID_ARGUMENT;
        }
        const path = `/v1.0/state/${bbPathSegment(store)}/${bbPathSegment(key)}?concurrency=${name}`;
        const headers = etag === "" ? [] : [["If-Match", etag]];
        return bbNoContent("delete", path, headers, new Uint8Array(0));
    },
    // publish(pubsub, topic, data, contentType) -> code
    publish(pubsub, topic, data, contentType) {
        const bytes = bbBytesArg(data);
        const type = contentType === "" ? "application/json" : contentType;
        if (!type.isWellFormed() || /[\r\n]/.test(type)) return BB_INVALID_ARGUMENT;
        const path = `/v1.0/publish/${bbPathSegment(pubsub)}/${bbPathSegment(topic)}`;
        return bbNoContent("post", path, [["Content-Type", type]], bytes);
    },
    // invokeBinding(name, operation, data) -> Uint8Array | code
    invokeBinding(name, operation, data) {
        const bytes = bbBytesArg(data);
        if (!operation.isWellFormed() || !bbIsJsonText(bytes)) return BB_INVALID_ARGUMENT;
        const head = bbEncoder.encode('{"data":');
        const end = bbEncoder.encode(`,"operation":${bbJsonString(operation)}}`);
        const whole = new Uint8Array(head.length + bytes.length + end.length);
        whole.set(head, 0);
        whole.set(bytes, head.length);
        whole.set(end, head.length + bytes.length);
        const r = bbRequest("post", `/v1.0/bindings/${bbPathSegment(name)}`, BB_JSON, whole);
        if (typeof r === "number") return r;
        if (r.status === 200 || r.status === 204) return r.body;
        return bbStatusError(r.status);
    },
    log(_level, _message) {},
});

// ---- the workload ----

/** The workload's `handle`, with guest.js and the workload evaluated in their own scope. */
const bbHandle = (function (__bb) {
    /*WORKLOAD*/
    return typeof handle === "function" ? handle : undefined;
})(bbNatives);
if (bbHandle === undefined) {
    throw new Error("workload.js defines no global function `handle(input)`");
}

/** Runs the workload on `input`: `[status, body]`. */
function bbRun(input) {
    let answer;
    try {
        answer = bbHandle(input);
    } catch (thrown) {
        return [422, bbEncoder.encode(bbThrownMessage(thrown))];
    }
    try {
        return [200, bbOutputBytes(answer)];
    } catch (message) {
        return [422, bbEncoder.encode(message)];
    }
}

/** The request's body, or `undefined` when it is over the limit. */
function bbReadRequest(request) {
    try {
        const body = request.consume();
        const stream = body.stream();
        const bytes = bbReadAll(stream, BB_MAX_BODY);
        bbDrop(stream);
        bbDrop(IncomingBody.finish(body));
        return bytes;
    } catch {
        return undefined;
    }
}

function bbRespond(out, status, body) {
    const headers = new Fields();
    headers.append("content-type", bbEncoder.encode("application/octet-stream"));
    const response = new OutgoingResponse(headers);
    response.setStatusCode(status);
    const outgoing = response.body();
    ResponseOutparam.set(out, { tag: "ok", val: response });
    const stream = outgoing.write();
    bbWriteAll(stream, body);
    bbDrop(stream);
    OutgoingBody.finish(outgoing, undefined);
}

export const incomingHandler = {
    handle(request, out) {
        let status;
        let body;
        if (request.method().tag === "post") {
            const input = bbReadRequest(request);
            if (input === undefined) {
                [status, body] = [413, bbEncoder.encode("request body over the limit")];
            } else {
                [status, body] = bbRun(input);
            }
        } else {
            [status, body] = [405, bbEncoder.encode("POST only")];
        }
        bbDrop(request);
        bbRespond(out, status, body);
    },
};
