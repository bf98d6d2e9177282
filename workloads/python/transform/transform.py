"""`transform` (workloads/ABI.md): normalises a flat record's keys and values."""

from blueprint import GuestError, parse_json, write_json

REDACTED = {"password", "secret", "token", "ssn", "card_number"}
ASCII_WHITESPACE = " \t\n\r"


def handle(request):
    out = {}
    for raw_key, value in parse_json(request).items():
        key = normalise_key(raw_key)
        if key in out:
            raise GuestError(f'duplicate field "{key}" after key normalisation')
        out[key] = normalise_value(key, value)
    return write_json(out)


def ascii_lower(text):
    # str.lower() would also change non-ASCII letters.
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def normalise_key(key):
    return ascii_lower(key).replace("-", "_").replace(" ", "_")


def normalise_value(key, value):
    if key in REDACTED:
        return "[redacted]"
    if not isinstance(value, str):
        return value
    # Only ASCII whitespace counts (str.split() would take Unicode spaces too).
    words, word = [], []
    for c in value:
        if c in ASCII_WHITESPACE:
            if word:
                words.append("".join(word))
                word = []
        else:
            word.append(c)
    if word:
        words.append("".join(word))
    collapsed = " ".join(words)
    return ascii_lower(collapsed) if key == "email" else collapsed
