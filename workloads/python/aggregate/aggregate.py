"""`aggregate` (workloads/ABI.md): folds one {key, amount} event into the
count/max/min/sum kept under the key in `statestore` (first-write, retried on
etag mismatch like `counter`), publishes the result with its key to
`pubsub`/`aggregates` and returns the stored value."""

import blueprint
from blueprint import I64_MAX, I64_MIN, DaprError, GuestError, parse_json, parse_request, write_json

STORE = "statestore"
PUBSUB = "pubsub"
TOPIC = "aggregates"
MAX_ATTEMPTS = 64
FIELDS = ("key", "amount")
MEMBERS = ("count", "max", "min", "sum")


def handle(request):
    event = parse_request(request, FIELDS)
    if "key" not in event:
        raise GuestError("key is required")
    key = event["key"]
    if not isinstance(key, str) or not 1 <= len(key.encode()) <= 128:
        raise GuestError("key must be a string of 1 to 128 bytes")
    if "amount" not in event:
        raise GuestError("amount is required")
    amount = event["amount"]
    if not is_integer(amount) or not -1000000000 <= amount <= 1000000000:
        raise GuestError("amount must be an integer from -1000000000 to 1000000000")

    for _ in range(MAX_ATTEMPTS):
        entry = call_dapr(blueprint.state_get, STORE, key)
        if entry is None:
            new = {"count": 1, "max": amount, "min": amount, "sum": amount}
        else:
            new = fold(parse_aggregate(entry.value), amount)
        stored = write_json((m, new[m]) for m in MEMBERS)
        try:
            blueprint.state_set(STORE, key, stored, etag=entry and entry.etag, concurrency="first-write")
        except DaprError as err:
            if err.code == blueprint.ETAG_MISMATCH:
                continue
            raise GuestError(f"dapr: {err}") from None
        event_out = write_json([("key", key)] + [(m, new[m]) for m in MEMBERS])
        call_dapr(blueprint.publish, PUBSUB, TOPIC, event_out, "application/json")
        return stored
    raise GuestError("too much contention")


def is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def fold(current, amount):
    new = {
        "count": current["count"] + 1,
        "max": max(current["max"], amount),
        "min": min(current["min"], amount),
        "sum": current["sum"] + amount,
    }
    if new["count"] > I64_MAX or not I64_MIN <= new["sum"] <= I64_MAX:
        raise GuestError("aggregate overflow")
    return new


def parse_aggregate(value):
    """Exactly the four integer members, in any order, with count >= 1."""
    try:
        members = parse_json(value)
    except GuestError:
        raise GuestError("stored value is not an aggregate") from None
    if sorted(members) != list(MEMBERS) or not all(is_integer(v) for v in members.values()):
        raise GuestError("stored value is not an aggregate")
    if members["count"] < 1:
        raise GuestError("stored value is not an aggregate")
    return members


def call_dapr(function, *args):
    try:
        return function(*args)
    except DaprError as err:
        raise GuestError(f"dapr: {err}") from None
