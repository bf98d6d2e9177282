"""`counter` (workloads/ABI.md): increments the decimal counter stored under
the request's key in `statestore` and returns the new value.

The write uses first-write concurrency with the etag it read (none for a new
key), so concurrent increments never lose an update: the loser gets
ETAG_MISMATCH, reads again and retries."""

import blueprint
from blueprint import DaprError, GuestError

STORE = "statestore"
MAX_KEY_LEN = 128
MAX_ATTEMPTS = 64
U64_MAX = (1 << 64) - 1
DIGITS = b"0123456789"


def handle(request):
    key = parse_key(request)
    for _ in range(MAX_ATTEMPTS):
        try:
            entry = blueprint.state_get(STORE, key)
        except DaprError as err:
            raise GuestError(f"dapr: {err}") from None
        current = 0 if entry is None else parse_counter(entry.value)
        if current == U64_MAX:
            raise GuestError("counter overflow")
        value = str(current + 1)
        try:
            blueprint.state_set(STORE, key, value, etag=entry and entry.etag, concurrency="first-write")
            return value
        except DaprError as err:
            if err.code == blueprint.ETAG_MISMATCH:
                continue
            raise GuestError(f"dapr: {err}") from None
    raise GuestError("too much contention")


def parse_key(request):
    if not request:
        raise GuestError("key must not be empty")
    if len(request) > MAX_KEY_LEN:
        raise GuestError(f"key must be at most {MAX_KEY_LEN} bytes")
    try:
        return request.decode("utf-8")
    except UnicodeDecodeError:
        raise GuestError("key must be UTF-8") from None


def parse_counter(value):
    """Strictly 1 to 20 ASCII digits (leading zeros allowed), at most u64::MAX:
    int() alone would also take signs, spaces and underscores."""
    if not 1 <= len(value) <= 20 or any(b not in DIGITS for b in value):
        raise GuestError("stored value is not a counter")
    number = int(value)
    if number > U64_MAX:
        raise GuestError("stored value is not a counter")
    return number
