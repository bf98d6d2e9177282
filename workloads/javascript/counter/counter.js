// `counter` (workloads/ABI.md): increments the decimal counter stored under
// the request's key in `statestore` and returns the new value.
//
// The write uses first-write concurrency with the etag it read (none for a
// new key), so concurrent increments never lose an update: the loser gets
// ETAG_MISMATCH, reads again and retries (`dapr.updateState`).

const STORE = "statestore";
const MAX_KEY_LEN = 128;
// Counters are u64: BigInt, because a JS number is exact only to 2^53.
const U64_MAX = (1n << 64n) - 1n;

function handle(input) {
    const key = parseKey(input);
    return dapr.updateState(STORE, key, (value) => {
        const current = value === null ? 0n : parseCounter(value);
        if (current === U64_MAX) {
            throw new Error("counter overflow");
        }
        return String(current + 1n);
    });
}

function parseKey(input) {
    if (input.length === 0) {
        throw new Error("key must not be empty");
    }
    if (input.length > MAX_KEY_LEN) {
        throw new Error(`key must be at most ${MAX_KEY_LEN} bytes`);
    }
    const key = utf8.decode(input);
    if (key === null) {
        throw new Error("key must be UTF-8");
    }
    return key;
}

// Strictly 1 to 20 ASCII digits (leading zeros allowed), at most u64::MAX.
function parseCounter(bytes) {
    if (bytes.length === 0 || bytes.length > 20) {
        throw new Error("stored value is not a counter");
    }
    let text = "";
    for (const byte of bytes) {
        if (byte < 0x30 || byte > 0x39) {
            throw new Error("stored value is not a counter");
        }
        text += String.fromCharCode(byte);
    }
    const value = BigInt(text);
    if (value > U64_MAX) {
        throw new Error("stored value is not a counter");
    }
    return value;
}
