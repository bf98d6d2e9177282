// `aggregate` (workloads/ABI.md): folds one {key, amount} event into the
// count/max/min/sum kept under the key in `statestore` (first-write, retried
// on etag mismatch like `counter`), publishes the result with its key to
// `pubsub`/`aggregates` and returns the stored value.

const STORE = "statestore";
const PUBSUB = "pubsub";
const TOPIC = "aggregates";
const FIELDS = ["key", "amount"];
const MEMBERS = ["count", "max", "min", "sum"];

function handle(input) {
    const event = json.parse(input);
    json.only(event, FIELDS);
    if (!event.has("key")) throw new Error("key is required");
    const key = event.get("key");
    if (typeof key !== "string" || key.length === 0 || json.byteLength(key) > 128) {
        throw new Error("key must be a string of 1 to 128 bytes");
    }
    if (!event.has("amount")) throw new Error("amount is required");
    const amount = event.get("amount");
    if (typeof amount !== "bigint" || amount < -1000000000n || amount > 1000000000n) {
        throw new Error("amount must be an integer from -1000000000 to 1000000000");
    }

    let next;
    const stored = dapr.updateState(STORE, key, (value) => {
        next = value === null ? start(amount) : fold(parseAggregate(value), amount);
        return json.write(MEMBERS.map((m) => [m, next[m]]));
    });
    const published = json.write([["key", key], ...MEMBERS.map((m) => [m, next[m]])]);
    dapr.guestCall(() => dapr.publish(PUBSUB, TOPIC, published, "application/json"));
    return stored;
}

function start(amount) {
    return { count: 1n, max: amount, min: amount, sum: amount };
}

function fold(current, amount) {
    const next = {
        count: current.count + 1n,
        max: current.max > amount ? current.max : amount,
        min: current.min < amount ? current.min : amount,
        sum: current.sum + amount,
    };
    if (next.count > json.I64_MAX || next.sum > json.I64_MAX || next.sum < json.I64_MIN) {
        throw new Error("aggregate overflow");
    }
    return next;
}

// Exactly the four integer members, in any order, with count >= 1.
function parseAggregate(bytes) {
    const notAggregate = () => new Error("stored value is not an aggregate");
    let members;
    try {
        members = json.parse(bytes);
    } catch {
        throw notAggregate();
    }
    if (members.size !== MEMBERS.length) throw notAggregate();
    const aggregate = {};
    for (const name of MEMBERS) {
        const value = members.get(name);
        if (typeof value !== "bigint") throw notAggregate();
        aggregate[name] = value;
    }
    if (aggregate.count < 1n) throw notAggregate();
    return aggregate;
}
