//! `validate` workload (workloads/ABI.md): checks an order against fixed
//! rules, in a fixed order, and answers `{"valid":true,"id":..,"total":..}`
//! or the first rule the order breaks. Pure.

use blueprint_guest::json::{self, Object, Value, Writer};

const FIELDS: &[&str] = &["id", "customer", "quantity", "unit_price", "currency", "express"];
const CURRENCIES: &[&str] = &["EUR", "USD", "GBP"];
const MAX_ID_LEN: usize = 32;
const MAX_EMAIL_LEN: usize = 254;
const MAX_TOTAL: i64 = 10_000_000;

/// The workload's handler.
///
/// # Errors
/// The first broken rule of workloads/ABI.md's `validate` section.
pub fn handle(input: &[u8]) -> Result<Vec<u8>, String> {
    let order = json::parse_object(input)?;
    order.only(FIELDS)?;

    let id = required(&order, "id")?;
    let id = match id {
        Value::Str(id) if is_order_id(id) => id,
        _ => return Err("id must be 1 to 32 characters from A-Z a-z 0-9 - _".into()),
    };
    match required(&order, "customer")? {
        Value::Str(email) if is_email(email) => {}
        _ => return Err("customer must be an email address".into()),
    }
    let quantity = int_in(&order, "quantity", 1, 1000)?;
    let unit_price = int_in(&order, "unit_price", 0, 1_000_000)?;
    match required(&order, "currency")? {
        Value::Str(currency) if CURRENCIES.contains(&currency.as_str()) => {}
        _ => return Err("currency must be one of EUR, USD, GBP".into()),
    }
    if let Some(express) = order.get("express")
        && !matches!(express, Value::Bool(_))
    {
        return Err("express must be a boolean".into());
    }
    // Both factors are range-checked, so the product fits easily.
    let total = quantity * unit_price;
    if total > MAX_TOTAL {
        return Err(format!("order total must be at most {MAX_TOTAL}"));
    }
    Ok(Writer::new()
        .bool("valid", true)
        .str("id", id)
        .int("total", total)
        .finish())
}

fn required<'a>(order: &'a Object, field: &str) -> Result<&'a Value, String> {
    order.get(field).ok_or_else(|| format!("{field} is required"))
}

fn int_in(order: &Object, field: &str, min: i64, max: i64) -> Result<i64, String> {
    match required(order, field)? {
        Value::Int(n) if (min..=max).contains(n) => Ok(*n),
        _ => Err(format!("{field} must be an integer from {min} to {max}")),
    }
}

fn is_order_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The ABI's deliberately simple address rule: at most 254 bytes, nothing at
/// or below U+0020, exactly one `@` with something before it, and a domain
/// with a `.` that neither starts nor ends it.
fn is_email(email: &str) -> bool {
    if email.len() > MAX_EMAIL_LEN || email.bytes().any(|b| b <= b' ') {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

blueprint_guest::workload!(handle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_the_abi_rule() {
        for good in ["a@b.c", "a.b+c@d.e.f", "é@ü.de", "a@b..c"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "@b.c",
            "a@",
            "a@b",
            "a@.b",
            "a@b.",
            "a@@b.c",
            "a b@c.d",
            "a\u{1}@b.c",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(!is_email(&format!("a@{}.de", "x".repeat(250))));
    }

    #[test]
    fn the_first_broken_rule_is_reported() {
        let order = br#"{"id":"o","customer":"a@b.c","quantity":2,"unit_price":5,"currency":"USD"}"#;
        assert_eq!(handle(order).unwrap(), br#"{"valid":true,"id":"o","total":10}"#);
        assert_eq!(handle(br#"{"quantity":"x"}"#), Err("id is required".into()));
        assert_eq!(
            handle(br#"{"id":"o","customer":"a@b.c","quantity":1}"#),
            Err("unit_price is required".into())
        );
    }
}
