// blueprint-bench's JavaScript guest library (guest ABI v1, workloads/ABI.md).
//
// Evaluated before every workload. A workload defines a global function
// `handle(input)`: `input` is the request as a Uint8Array; it returns the
// response as a string (sent as UTF-8) or a Uint8Array, or throws: a thrown
// `Error` becomes a guest error with its message (any other error class is
// reported as "<name>: <message>").
//
// `dapr` is the Dapr API of the embedded flavour; `utf8` converts text.
// Both sit on the natives in `__bb` (engine/src/engine.rs, engine/src/dapr.rs).

"use strict";

const utf8 = Object.freeze({
    /** The text in `bytes`, or `null` if they are not valid UTF-8. */
    decode(bytes) {
        return __bb.utf8Decode(bytes) ?? null;
    },
    /** `text` as UTF-8 bytes. */
    encode(text) {
        return __bb.utf8Encode(text);
    },
});

/** A `dapr` import that returned an error code (ABI "Error codes"). */
class DaprError extends Error {
    constructor(operation, code) {
        super(`${operation}: ${DaprError.describe(code)}`);
        this.name = "DaprError";
        this.operation = operation;
        this.code = code;
    }

    static describe(code) {
        return DaprError.DESCRIPTIONS[-code] ?? `unknown error code ${code}`;
    }
}
DaprError.DESCRIPTIONS = [
    undefined,
    "not found",
    "etag mismatch",
    "invalid argument",
    "unavailable",
    "no result",
    "buffer too small",
    "not permitted",
];

const dapr = (() => {
    if (typeof __bb.stateGet !== "function") {
        return undefined; // the command flavour has no Dapr access
    }
    const codes = Object.freeze({
        NOT_FOUND: -1,
        ETAG_MISMATCH: -2,
        INVALID_ARGUMENT: -3,
        UNAVAILABLE: -4,
        NO_RESULT: -5,
        BUFFER_TOO_SMALL: -6,
        NOT_PERMITTED: -7,
    });
    const concurrencies = { "last-write": 0, "first-write": 1 };
    const UPDATE_ATTEMPTS = 64;
    const levels = { error: 0, warn: 1, info: 2, debug: 3 };

    function guestError(err) {
        return err instanceof DaprError ? new Error(`dapr: ${err.message}`) : err;
    }
    function check(operation, ret) {
        if (typeof ret === "number" && ret < 0) {
            throw new DaprError(operation, ret);
        }
        return ret;
    }
    function concurrency(name) {
        const value = concurrencies[name ?? "last-write"];
        if (value === undefined) {
            throw new TypeError(`unknown concurrency ${name}`);
        }
        return value;
    }

    return Object.freeze({
        codes,
        DaprError,
        /** `{value: Uint8Array, etag: string | null}`, or `null` for a missing key. */
        stateGet(store, key) {
            const ret = __bb.stateGet(store, key);
            if (ret === codes.NOT_FOUND) {
                return null;
            }
            return check("state_get", ret);
        },
        /** Options: `etag` (string), `concurrency` ("last-write" | "first-write"). */
        stateSet(store, key, value, options = {}) {
            check(
                "state_set",
                __bb.stateSet(store, key, value, options.etag ?? "", concurrency(options.concurrency)),
            );
        },
        stateDelete(store, key, options = {}) {
            check(
                "state_delete",
                __bb.stateDelete(store, key, options.etag ?? "", concurrency(options.concurrency)),
            );
        },
        /** `contentType` defaults to application/json. */
        publish(pubsub, topic, data, contentType = "") {
            check("publish", __bb.publish(pubsub, topic, data, contentType));
        },
        /** The binding's response data as a Uint8Array. */
        invokeBinding(name, operation, data) {
            return check("invoke_binding", __bb.invokeBinding(name, operation, data));
        },
        log(level, message) {
            __bb.log(levels[level] ?? 2, String(message));
        },
        /** `call()`, with a `DaprError` turned into the guest error `dapr: <error>` (ABI.md). */
        guestCall(call) {
            try {
                return call();
            } catch (err) {
                throw guestError(err);
            }
        },
        /**
         * The ABI's race-free read-modify-write of one key, as `counter` and
         * `aggregate` do it: `next(value)` turns the stored bytes (`null` for a
         * missing key) into the value to write, which is written with
         * first-write concurrency and the etag read; on ETAG_MISMATCH another
         * writer came first, so it reads again, up to 64 attempts in all.
         * Returns the value written. Dapr failures are `dapr: <error>`.
         */
        updateState(store, key, next) {
            for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
                const entry = this.guestCall(() => this.stateGet(store, key));
                const value = next(entry === null ? null : entry.value);
                try {
                    this.stateSet(store, key, value, { etag: entry?.etag ?? "", concurrency: "first-write" });
                    return value;
                } catch (err) {
                    if (err instanceof DaprError && err.code === codes.ETAG_MISMATCH) continue;
                    throw guestError(err);
                }
            }
            throw new Error("too much contention");
        },
    });
})();

// The JSON subset of workloads/ABI.md ("The JSON subset the JSON workloads
// read and write"): one flat object of strings, integers (as BigInt, since
// they are 64-bit), true, false and null; compact output with only `"`, `\`
// and U+0000-U+001F escaped. Anything outside it is `invalid JSON`.
const json = (() => {
    const I64_MIN = -(1n << 63n);
    const I64_MAX = (1n << 63n) - 1n;
    const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

    function invalid() {
        return new Error("invalid JSON");
    }

    function isWhitespace(c) {
        return c === " " || c === "\t" || c === "\n" || c === "\r";
    }

    /**
     * Parses the request bytes; returns a Map of the members in input order.
     * Strings are JS strings, integers BigInts.
     */
    function parse(bytes) {
        const text = utf8.decode(bytes);
        if (text === null) {
            throw invalid();
        }
        let i = 0;
        const skip = () => {
            while (i < text.length && isWhitespace(text[i])) i++;
        };
        const expect = (c) => {
            if (text[i] !== c) throw invalid();
            i++;
        };
        const hex4 = () => {
            const digits = text.slice(i, i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(digits)) throw invalid();
            i += 4;
            return parseInt(digits, 16);
        };
        const string = () => {
            expect('"');
            let out = "";
            for (;;) {
                if (i >= text.length) throw invalid();
                const c = text[i++];
                if (c === '"') return out;
                if (c.charCodeAt(0) < 0x20) throw invalid();
                if (c !== "\\") {
                    out += c;
                    continue;
                }
                const e = text[i++];
                if (e in ESCAPES) {
                    out += ESCAPES[e];
                } else if (e === "u") {
                    const unit = hex4();
                    if (unit >= 0xdc00 && unit <= 0xdfff) throw invalid();
                    if (unit >= 0xd800 && unit <= 0xdbff) {
                        if (text[i] !== "\\" || text[i + 1] !== "u") throw invalid();
                        i += 2;
                        const low = hex4();
                        if (low < 0xdc00 || low > 0xdfff) throw invalid();
                        out += String.fromCharCode(unit, low);
                    } else {
                        out += String.fromCharCode(unit);
                    }
                } else {
                    throw invalid();
                }
            }
        };
        const integer = () => {
            const match = /^-?(0|[1-9][0-9]*)/.exec(text.slice(i, i + 21));
            if (match === null) throw invalid();
            i += match[0].length;
            const value = BigInt(match[0]);
            if (value < I64_MIN || value > I64_MAX) throw invalid();
            return value;
        };
        const literal = (word, value) => {
            if (text.slice(i, i + word.length) !== word) throw invalid();
            i += word.length;
            return value;
        };
        const value = () => {
            const c = text[i];
            if (c === '"') return string();
            if (c === "t") return literal("true", true);
            if (c === "f") return literal("false", false);
            if (c === "n") return literal("null", null);
            if (c === "-" || (c >= "0" && c <= "9")) return integer();
            throw invalid();
        };

        const members = new Map();
        skip();
        expect("{");
        skip();
        if (text[i] === "}") {
            i++;
        } else {
            for (;;) {
                skip();
                const key = string();
                if (members.has(key)) throw invalid();
                skip();
                expect(":");
                skip();
                members.set(key, value());
                skip();
                if (text[i] === ",") {
                    i++;
                    continue;
                }
                expect("}");
                break;
            }
        }
        skip();
        if (i !== text.length) throw invalid();
        return members;
    }

    function writeString(s) {
        let out = '"';
        for (const c of s) {
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

    function writeValue(v) {
        switch (typeof v) {
            case "string":
                return writeString(v);
            case "bigint":
                return v.toString();
            case "number":
                if (!Number.isSafeInteger(v)) throw new TypeError(`not an integer: ${v}`);
                return String(v === 0 ? 0 : v);
            case "boolean":
                return v ? "true" : "false";
            default:
                if (v === null) return "null";
                throw new TypeError(`not a JSON subset value: ${typeof v}`);
        }
    }

    /** Compact JSON for `[key, value]` pairs (an array or a Map), in order. */
    function write(members) {
        const parts = [];
        for (const [key, v] of members) {
            parts.push(writeString(key) + ":" + writeValue(v));
        }
        return "{" + parts.join(",") + "}";
    }

    /** The UTF-8 length of a string, in bytes. */
    function byteLength(s) {
        return utf8.encode(s).length;
    }

    /** Throws `unknown field "<key>"` for the first key of `members` not in `names`. */
    function only(members, names) {
        for (const key of members.keys()) {
            if (!names.includes(key)) throw new Error(`unknown field "${key}"`);
        }
    }

    return Object.freeze({ parse, write, byteLength, only, I64_MIN, I64_MAX });
})();
