// `transform` (workloads/ABI.md): normalises a flat record's keys and values.

const REDACTED = new Set(["password", "secret", "token", "ssn", "card_number"]);

function handle(input) {
    const out = new Map();
    for (const [rawKey, value] of json.parse(input)) {
        const key = normaliseKey(rawKey);
        if (out.has(key)) {
            throw new Error(`duplicate field "${key}" after key normalisation`);
        }
        out.set(key, normaliseValue(key, value));
    }
    return json.write(out);
}

// ASCII A-Z lowercased, `-` and space to `_`, everything else kept.
function normaliseKey(key) {
    let out = "";
    for (const c of key) {
        if (c >= "A" && c <= "Z") out += c.toLowerCase();
        else if (c === "-" || c === " ") out += "_";
        else out += c;
    }
    return out;
}

function normaliseValue(key, value) {
    if (REDACTED.has(key)) return "[redacted]";
    if (typeof value !== "string") return value;
    // Only ASCII whitespace counts (JS's \s would take Unicode spaces too).
    const collapsed = value.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, "").replace(/[ \t\n\r]+/g, " ");
    return key === "email" ? collapsed.replace(/[A-Z]/g, (c) => c.toLowerCase()) : collapsed;
}
