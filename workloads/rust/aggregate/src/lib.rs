//! `aggregate` workload (workloads/ABI.md): folds one event `{key, amount}`
//! into the count, max, min and sum kept under the key in `statestore`,
//! publishes the result on `pubsub`/`aggregates` and returns it.
//!
//! The read-modify-write is `counter`'s ([`update_state`]): first-write concurrency with
//! the etag read (none for a new key), retried on `ETAG_MISMATCH`, so
//! concurrent events for one key never lose an update.

use blueprint_guest::json::{self, Value, Writer};
use blueprint_guest::{Error, publish, update_state};

const STORE: &str = "statestore";
const PUBSUB: &str = "pubsub";
const TOPIC: &str = "aggregates";
const MAX_KEY_LEN: usize = 128;
const MAX_AMOUNT: i64 = 1_000_000_000;

/// What is kept per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Aggregate {
    count: i64,
    sum: i64,
    min: i64,
    max: i64,
}

impl Aggregate {
    fn first(amount: i64) -> Self {
        Self {
            count: 1,
            sum: amount,
            min: amount,
            max: amount,
        }
    }

    fn fold(self, amount: i64) -> Option<Self> {
        Some(Self {
            count: self.count.checked_add(1)?,
            sum: self.sum.checked_add(amount)?,
            min: self.min.min(amount),
            max: self.max.max(amount),
        })
    }

    /// The four members, in the ABI's order, after whatever `out` holds.
    fn write(&self, out: &mut Writer) -> Vec<u8> {
        // Alphabetical: daprd's HTTP state API re-encodes JSON values with
        // sorted keys, and both flavours must leave the same bytes.
        out.int("count", self.count)
            .int("max", self.max)
            .int("min", self.min)
            .int("sum", self.sum)
            .finish()
    }

    /// A stored value: exactly the four integer members, any order,
    /// count at least 1.
    fn parse(stored: &[u8]) -> Result<Self, String> {
        let not_an_aggregate = || "stored value is not an aggregate".to_owned();
        let object = json::parse_object(stored).map_err(|_| not_an_aggregate())?;
        let field = |name| match object.get(name) {
            Some(Value::Int(n)) => Ok(*n),
            _ => Err(not_an_aggregate()),
        };
        let aggregate = Self {
            count: field("count")?,
            sum: field("sum")?,
            min: field("min")?,
            max: field("max")?,
        };
        if object.members.len() != 4 || aggregate.count < 1 {
            return Err(not_an_aggregate());
        }
        Ok(aggregate)
    }
}

/// The workload's handler.
///
/// # Errors
/// The guest errors of workloads/ABI.md's `aggregate` section.
pub fn handle(input: &[u8]) -> Result<Vec<u8>, String> {
    let (key, amount) = parse_event(input)?;
    let (stored, next) = update_state(STORE, &key, |stored| {
        let next = match stored {
            Some(stored) => Aggregate::parse(stored)?
                .fold(amount)
                .ok_or("aggregate overflow")?,
            None => Aggregate::first(amount),
        };
        Ok((next.write(&mut Writer::new()), next))
    })?;
    let event = next.write(Writer::new().str("key", &key));
    publish(PUBSUB, TOPIC, &event, "application/json").map_err(Error::guest_message)?;
    Ok(stored)
}

fn parse_event(input: &[u8]) -> Result<(String, i64), String> {
    let event = json::parse_object(input)?;
    event.only(&["key", "amount"])?;
    let key = match event.get("key") {
        None => return Err("key is required".into()),
        Some(Value::Str(key)) if (1..=MAX_KEY_LEN).contains(&key.len()) => key.clone(),
        Some(_) => return Err(format!("key must be a string of 1 to {MAX_KEY_LEN} bytes")),
    };
    let amount = match event.get("amount") {
        None => return Err("amount is required".into()),
        Some(Value::Int(n)) if (-MAX_AMOUNT..=MAX_AMOUNT).contains(n) => *n,
        Some(_) => {
            return Err(format!(
                "amount must be an integer from -{MAX_AMOUNT} to {MAX_AMOUNT}"
            ));
        }
    };
    Ok((key, amount))
}

blueprint_guest::workload!(handle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_checked_before_any_dapr_call() {
        assert_eq!(parse_event(br#"{"amount":-3,"key":"k"}"#), Ok(("k".into(), -3)));
        assert_eq!(parse_event(br#"{"amount":1}"#), Err("key is required".into()));
        assert_eq!(
            parse_event(br#"{"key":"k","amount":-1000000001}"#),
            Err("amount must be an integer from -1000000000 to 1000000000".into())
        );
    }

    #[test]
    fn stored_values_must_be_exactly_an_aggregate() {
        let stored = br#"{"max":4,"min":-1,"sum":3,"count":2}"#;
        let aggregate = Aggregate::parse(stored).unwrap();
        assert_eq!(
            aggregate.fold(10).unwrap().write(&mut Writer::new()),
            br#"{"count":3,"max":10,"min":-1,"sum":13}"#
        );
        for bad in [
            &br#"{"count":0,"sum":0,"min":0,"max":0}"#[..],
            br#"{"count":1,"sum":0,"min":0}"#,
            br#"{"count":1,"sum":0,"min":0,"max":0,"x":1}"#,
            br#"{"count":1,"sum":"0","min":0,"max":0}"#,
            b"3",
        ] {
            assert_eq!(
                Aggregate::parse(bad),
                Err("stored value is not an aggregate".into())
            );
        }
        let full = Aggregate {
            sum: i64::MAX,
            ..Aggregate::first(1)
        };
        assert_eq!(full.fold(1), None);
    }
}
