// `validate` (workloads/ABI.md): checks an order against fixed rules and
// answers with its total; the first failing check is the guest error.

const FIELDS = ["id", "customer", "quantity", "unit_price", "currency", "express"];
const CURRENCIES = new Set(["EUR", "USD", "GBP"]);
const MAX_TOTAL = 10000000n;

function handle(input) {
    const order = json.parse(input);
    json.only(order, FIELDS);
    const id = required(order, "id");
    if (typeof id !== "string" || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
        throw new Error("id must be 1 to 32 characters from A-Z a-z 0-9 - _");
    }
    const customer = required(order, "customer");
    if (typeof customer !== "string" || !isEmail(customer)) {
        throw new Error("customer must be an email address");
    }
    const quantity = required(order, "quantity");
    if (!integerIn(quantity, 1n, 1000n)) {
        throw new Error("quantity must be an integer from 1 to 1000");
    }
    const unitPrice = required(order, "unit_price");
    if (!integerIn(unitPrice, 0n, 1000000n)) {
        throw new Error("unit_price must be an integer from 0 to 1000000");
    }
    const currency = required(order, "currency");
    if (!CURRENCIES.has(currency)) {
        throw new Error("currency must be one of EUR, USD, GBP");
    }
    if (order.has("express") && typeof order.get("express") !== "boolean") {
        throw new Error("express must be a boolean");
    }
    const total = quantity * unitPrice;
    if (total > MAX_TOTAL) {
        throw new Error(`order total must be at most ${MAX_TOTAL}`);
    }
    return json.write([
        ["valid", true],
        ["id", id],
        ["total", total],
    ]);
}

function required(order, key) {
    if (!order.has(key)) throw new Error(`${key} is required`);
    return order.get(key);
}

function integerIn(value, min, max) {
    return typeof value === "bigint" && value >= min && value <= max;
}

// At most 254 bytes, nothing in U+0000-U+0020, exactly one `@` with at least
// one byte before it, and a domain that contains a `.` and neither starts
// nor ends with one.
function isEmail(text) {
    if (json.byteLength(text) > 254 || /[\u0000-\u0020]/.test(text)) return false;
    const parts = text.split("@");
    if (parts.length !== 2 || parts[0].length === 0) return false;
    const domain = parts[1];
    return domain.includes(".") && !domain.startsWith(".") && !domain.endsWith(".");
}
