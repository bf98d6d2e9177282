"""`validate` (workloads/ABI.md): checks an order against fixed rules and
answers with its total; the first failing check is the guest error."""

from blueprint import GuestError, parse_request, write_json

FIELDS = ("id", "customer", "quantity", "unit_price", "currency", "express")
ID_CHARACTERS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
CURRENCIES = ("EUR", "USD", "GBP")
MAX_TOTAL = 10000000


def handle(request):
    order = parse_request(request, FIELDS)
    order_id = required(order, "id")
    if not isinstance(order_id, str) or not 1 <= len(order_id) <= 32 or not set(order_id) <= ID_CHARACTERS:
        raise GuestError("id must be 1 to 32 characters from A-Z a-z 0-9 - _")
    customer = required(order, "customer")
    if not isinstance(customer, str) or not is_email(customer):
        raise GuestError("customer must be an email address")
    quantity = required(order, "quantity")
    if not integer_in(quantity, 1, 1000):
        raise GuestError("quantity must be an integer from 1 to 1000")
    unit_price = required(order, "unit_price")
    if not integer_in(unit_price, 0, 1000000):
        raise GuestError("unit_price must be an integer from 0 to 1000000")
    currency = required(order, "currency")
    if not isinstance(currency, str) or currency not in CURRENCIES:
        raise GuestError("currency must be one of EUR, USD, GBP")
    if "express" in order and not isinstance(order["express"], bool):
        raise GuestError("express must be a boolean")
    total = quantity * unit_price
    if total > MAX_TOTAL:
        raise GuestError(f"order total must be at most {MAX_TOTAL}")
    return write_json((("valid", True), ("id", order_id), ("total", total)))


def required(order, key):
    if key not in order:
        raise GuestError(f"{key} is required")
    return order[key]


def integer_in(value, low, high):
    # bool is an int subclass in Python; JSON true is not an integer.
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def is_email(text):
    """At most 254 bytes, nothing in U+0000-U+0020, exactly one `@` with at
    least one byte before it, and a domain that contains a `.` and neither
    starts nor ends with one."""
    if len(text.encode()) > 254 or any(c <= " " for c in text):
        return False
    local, at, domain = text.partition("@")
    if not at or not local or "@" in domain:
        return False
    return "." in domain and not domain.startswith(".") and not domain.endswith(".")
