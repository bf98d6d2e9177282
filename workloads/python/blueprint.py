"""blueprint-bench's Python guest library (guest ABI v1, workloads/ABI.md).

A workload is a module with a function ``handle(request: bytes)`` that
returns the response as ``bytes`` or ``str`` (sent as UTF-8) or raises
``GuestError(message)`` to refuse the request; any other exception is a guest
error too, reported as ``"<ExceptionName>: <message>"`` so that a bug is told
apart from a refusal.

The Dapr API of the embedded flavour is below (``state_get``, ``state_set``,
``state_delete``, ``publish``, ``invoke_binding``, ``log``) over the raw
``_bb`` built-in module of runtime/bb_python.c; ``parse_json``,
``parse_request`` and ``write_json`` implement the JSON subset of
workloads/ABI.md. Only built-in modules are used, so nothing from the
standard library has to be frozen into the module.
"""

import _bb

NOT_FOUND = -1
ETAG_MISMATCH = -2
INVALID_ARGUMENT = -3
UNAVAILABLE = -4
NO_RESULT = -5
BUFFER_TOO_SMALL = -6
NOT_PERMITTED = -7

_DESCRIPTIONS = {
    NOT_FOUND: "not found",
    ETAG_MISMATCH: "etag mismatch",
    INVALID_ARGUMENT: "invalid argument",
    UNAVAILABLE: "unavailable",
    NO_RESULT: "no result",
    BUFFER_TOO_SMALL: "buffer too small",
    NOT_PERMITTED: "not permitted",
}

_CONCURRENCY = {"last-write": 0, "first-write": 1}
_LEVELS = {"error": 0, "warn": 1, "info": 2, "debug": 3}


class GuestError(Exception):
    """The workload refuses the request; ``str(error)`` is the message."""


class DaprError(Exception):
    """A ``dapr`` import returned an error code (ABI "Error codes")."""

    def __init__(self, operation, code):
        self.operation = operation
        self.code = code
        super().__init__(f"{operation}: {_DESCRIPTIONS.get(code, f'unknown error code {code}')}")


class StateEntry:
    """A state value and its etag (``None`` when the store keeps none)."""

    __slots__ = ("value", "etag")

    def __init__(self, value, etag):
        self.value = value
        self.etag = etag


def _raw(name, operation):
    # The command flavour's _bb has no Dapr functions: it runs without Dapr.
    function = getattr(_bb, name, None)
    if function is None:
        raise DaprError(operation, NOT_PERMITTED)
    return function


def _check(operation, ret):
    if isinstance(ret, int) and ret < 0:
        raise DaprError(operation, ret)
    return ret


def _bytes(data):
    return data.encode() if isinstance(data, str) else bytes(data)


def state_get(store, key):
    """The ``StateEntry`` under ``key``, or ``None`` when it has no value."""
    ret = _raw("state_get", "state_get")(store, key)
    if ret == NOT_FOUND:
        return None
    etag, value = _check("state_get", ret)
    return StateEntry(value, etag)


def state_set(store, key, value, etag=None, concurrency="last-write"):
    _check(
        "state_set",
        _raw("state_set", "state_set")(store, key, _bytes(value), etag or "", _CONCURRENCY[concurrency]),
    )


def state_delete(store, key, etag=None, concurrency="last-write"):
    _check(
        "state_delete",
        _raw("state_delete", "state_delete")(store, key, etag or "", _CONCURRENCY[concurrency]),
    )


def publish(pubsub, topic, data, content_type=""):
    """``content_type`` empty means application/json."""
    _check("publish", _raw("publish", "publish")(pubsub, topic, _bytes(data), content_type))


def invoke_binding(name, operation, data):
    """The binding's response data."""
    return _check("invoke_binding", _raw("invoke_binding", "invoke_binding")(name, operation, _bytes(data)))


def log(level, message):
    function = getattr(_bb, "log", None)
    if function is not None:
        function(_LEVELS.get(level, 2), str(message))


# ---- the JSON subset (workloads/ABI.md) ------------------------------------

I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1
_WHITESPACE = " \t\n\r"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX = "0123456789abcdefABCDEF"
_DIGITS = "0123456789"


class _Invalid(Exception):
    pass


def parse_json(data):
    """The members of one flat JSON object, as a dict in input order: strings
    are ``str``, integers ``int``; ``GuestError("invalid JSON")`` for anything
    outside the subset."""
    try:
        # Strict UTF-8: no overlong forms, surrogates or values past U+10FFFF.
        text = bytes(data).decode("utf-8")
        return _Parser(text).object()
    except (UnicodeDecodeError, _Invalid, IndexError):
        raise GuestError("invalid JSON") from None


def parse_request(data, fields):
    """``parse_json`` of a request that may hold only ``fields``:
    ``GuestError('unknown field "<name>"')`` for the first other member."""
    members = parse_json(data)
    for name in members:
        if name not in fields:
            raise GuestError(f'unknown field "{name}"')
    return members


class _Parser:
    __slots__ = ("text", "i")

    def __init__(self, text):
        self.text = text
        self.i = 0

    def skip(self):
        text, i = self.text, self.i
        while i < len(text) and text[i] in _WHITESPACE:
            i += 1
        self.i = i

    def expect(self, c):
        if self.text[self.i : self.i + 1] != c:
            raise _Invalid
        self.i += 1

    def object(self):
        members = {}
        self.skip()
        self.expect("{")
        self.skip()
        if self.text[self.i : self.i + 1] == "}":
            self.i += 1
        else:
            while True:
                self.skip()
                key = self.string()
                if key in members:
                    raise _Invalid
                self.skip()
                self.expect(":")
                self.skip()
                members[key] = self.value()
                self.skip()
                if self.text[self.i : self.i + 1] == ",":
                    self.i += 1
                    continue
                self.expect("}")
                break
        self.skip()
        if self.i != len(self.text):
            raise _Invalid
        return members

    def value(self):
        c = self.text[self.i : self.i + 1]
        if c == '"':
            return self.string()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.i):
                self.i += len(word)
                return value
        if c == "-" or (c != "" and c in _DIGITS):
            return self.integer()
        raise _Invalid

    def integer(self):
        text, start = self.text, self.i
        i = start + 1 if text[start] == "-" else start
        if i >= len(text) or text[i] not in _DIGITS:
            raise _Invalid
        if text[i] == "0":
            i += 1
        else:
            while i < len(text) and text[i] in _DIGITS:
                i += 1
        self.i = i
        value = int(text[start:i])
        if not I64_MIN <= value <= I64_MAX:
            raise _Invalid
        return value

    def hex4(self):
        digits = self.text[self.i : self.i + 4]
        if len(digits) != 4 or any(d not in _HEX for d in digits):
            raise _Invalid
        self.i += 4
        return int(digits, 16)

    def string(self):
        self.expect('"')
        text, out = self.text, []
        while True:
            c = text[self.i]
            self.i += 1
            if c == '"':
                return "".join(out)
            if c < " ":
                raise _Invalid
            if c != "\\":
                out.append(c)
                continue
            e = text[self.i]
            self.i += 1
            if e in _ESCAPES:
                out.append(_ESCAPES[e])
            elif e == "u":
                unit = self.hex4()
                if 0xDC00 <= unit <= 0xDFFF:
                    raise _Invalid
                if 0xD800 <= unit <= 0xDBFF:
                    if text[self.i : self.i + 2] != "\\u":
                        raise _Invalid
                    self.i += 2
                    low = self.hex4()
                    if not 0xDC00 <= low <= 0xDFFF:
                        raise _Invalid
                    unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                out.append(chr(unit))
            else:
                raise _Invalid


def _write_string(s):
    out = ['"']
    for c in s:
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif c < " ":
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _write_value(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _write_string(v)
    raise TypeError(f"not a JSON subset value: {type(v).__name__}")


def write_json(members):
    """Compact JSON for ``(key, value)`` pairs (or a dict), in order."""
    items = members.items() if isinstance(members, dict) else members
    return "{" + ",".join(_write_string(k) + ":" + _write_value(v) for k, v in items) + "}"


# ---- called by runtime/bb_python.c for every request ------------------------


def _serve(handle, request):
    """``(True, response)`` or ``(False, guest error message)``."""
    try:
        out = handle(request)
        if isinstance(out, str):
            out = out.encode()
        elif not isinstance(out, (bytes, bytearray, memoryview)):
            raise TypeError(f"handle must return bytes or str, not {type(out).__name__}")
        return True, bytes(out)
    except GuestError as refusal:
        return False, str(refusal).encode("utf-8", "replace")
    except BaseException as error:  # a fault in the workload is a guest error too
        return False, f"{type(error).__name__}: {error}".encode("utf-8", "replace")
