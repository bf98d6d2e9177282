//! Pub/sub deliveries (`runtimes/HOST.md`, "Pub/sub events"): the CloudEvent
//! daprd posts to `/events/<workload>` (or a batch of them to
//! `/bulk-events/<workload>` for a bulk subscription), the workload input
//! inside it, and the log of every delivery the host handled, which the
//! harness reads back through `GET /events` to count events by id; and the
//! host as a plain
//! subscriber (`/subscriber/<topic>`), which records the events a workload
//! published for the conformance check.
//!
//! The log is the app's own count: the harness compares it with what it
//! published, so an event daprd accepted but never delivered, or delivered
//! twice, shows up by its id.

use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The most deliveries the log keeps; later ones are counted in
/// [`Deliveries::not_kept`] only, so a long run cannot grow the host
/// without bound.
pub const MAX_KEPT: usize = 2_000_000;

/// What the host answered daprd for one delivery (Dapr's `AppResponse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Handled: `{"status":"SUCCESS"}`.
    Success,
    /// The workload refused the input, or the body was not a CloudEvent:
    /// `{"status":"DROP"}`, since a redelivery would be refused again.
    Drop,
    /// A trap, a time-out or a failed Dapr call: `{"status":"RETRY"}`.
    Retry,
}

impl Outcome {
    /// The body of the answer to daprd.
    pub fn app_response(self) -> &'static str {
        match self {
            Outcome::Success => r#"{"status":"SUCCESS"}"#,
            Outcome::Drop => r#"{"status":"DROP"}"#,
            Outcome::Retry => r#"{"status":"RETRY"}"#,
        }
    }

    /// Its name in Dapr's `AppResponse` and bulk answers.
    pub fn status(self) -> &'static str {
        match self {
            Outcome::Success => "SUCCESS",
            Outcome::Drop => "DROP",
            Outcome::Retry => "RETRY",
        }
    }
}

/// One entry of a bulk delivery: the id daprd answers it by, and the
/// CloudEvent inside it (or why it is not one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkEntry {
    /// `entryId`, unique within the batch.
    pub entry_id: String,
    /// The event, read as [`parse`] reads a single delivery.
    pub event: Result<Event, String>,
}

/// Reads the batch daprd posts for a bulk subscription (Dapr's bulk
/// subscribe envelope: `{"entries":[{"entryId", "event", "contentType"}], …}`,
/// each `event` a structured CloudEvent as a JSON object).
///
/// # Errors
/// A body that is not such an envelope; a bad entry is an `Err` in its
/// [`BulkEntry::event`] instead, so the others are still handled.
pub fn parse_bulk(body: &[u8]) -> Result<Vec<BulkEntry>, String> {
    #[derive(Deserialize)]
    struct Envelope {
        entries: Vec<RawEntry>,
    }
    #[derive(Deserialize)]
    struct RawEntry {
        #[serde(rename = "entryId")]
        entry_id: String,
        #[serde(default)]
        event: serde_json::Value,
    }
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| format!("the delivery is not a bulk subscribe envelope: {e}"))?;
    Ok(envelope
        .entries
        .into_iter()
        .map(|entry| BulkEntry {
            entry_id: entry.entry_id,
            event: match entry.event {
                event @ serde_json::Value::Object(_) => serde_json::to_vec(&event)
                    .map_err(|e| e.to_string())
                    .and_then(|b| parse(&b)),
                // A raw payload (base64), which only a `rawPayload`
                // subscription sends: not one of ours.
                _ => Err("the bulk entry's event is not a CloudEvent object".into()),
            },
        })
        .collect())
}

/// The answer to a bulk delivery: one status per entry, by `entryId`.
pub fn bulk_response<'a>(statuses: impl IntoIterator<Item = (&'a str, Outcome)>) -> Vec<u8> {
    let statuses: Vec<serde_json::Value> = statuses
        .into_iter()
        .map(|(entry_id, outcome)| serde_json::json!({"entryId": entry_id, "status": outcome.status()}))
        .collect();
    serde_json::json!({ "statuses": statuses })
        .to_string()
        .into_bytes()
}

/// One delivery the host handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The CloudEvent's `id` (empty when the body had none).
    pub id: String,
    /// When the handling ended, nanoseconds since the Unix epoch (the clock
    /// the publisher stamps events with, on the same machine).
    pub handled_unix_ns: u64,
    /// The answer daprd got.
    pub outcome: Outcome,
}

/// `GET /events?from=N`: the deliveries from the `N`-th on, in the order
/// they were handled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliveries {
    /// Deliveries `from..`.
    pub deliveries: Vec<Delivery>,
    /// Deliveries handled after the log was full.
    #[serde(default)]
    pub not_kept: u64,
}

/// The host's log of deliveries.
#[derive(Debug, Default)]
pub struct EventLog {
    inner: Mutex<Deliveries>,
}

impl EventLog {
    /// Notes one delivery, ended now.
    pub fn record(&self, id: String, outcome: Outcome) {
        let delivery = Delivery {
            id,
            handled_unix_ns: unix_ns(),
            outcome,
        };
        let mut log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if log.deliveries.len() < MAX_KEPT {
            log.deliveries.push(delivery);
        } else {
            log.not_kept += 1;
        }
    }

    /// The deliveries from the `from`-th on.
    pub fn since(&self, from: usize) -> Deliveries {
        let log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        Deliveries {
            deliveries: log.deliveries.get(from..).unwrap_or_default().to_vec(),
            not_kept: log.not_kept,
        }
    }
}

/// One event received at `POST /subscriber/<topic>`: the host as a plain
/// subscriber, which records what daprd delivered and runs nothing. The
/// conformance check subscribes it to the topics a workload's vectors say
/// it publishes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// The CloudEvent's `pubsubname` (daprd sets it).
    pub pubsub: String,
    /// Its `topic` (daprd sets it; the route's topic when missing).
    pub topic: String,
    /// Its `datacontenttype`.
    pub content_type: String,
    /// Its data, read as [`parse`] reads a workload's input, base64.
    pub data_base64: String,
}

/// `GET /subscriber`: every event received, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedEvents {
    /// The events.
    pub events: Vec<Received>,
}

/// The plain subscriber's log, bounded as the delivery log is.
#[derive(Debug, Default)]
pub struct Subscriber {
    inner: Mutex<ReceivedEvents>,
}

impl Subscriber {
    /// Records a delivery to `/subscriber/<route_topic>`.
    ///
    /// # Errors
    /// A body that is not a CloudEvent (see [`parse`]).
    pub fn receive(&self, route_topic: &str, body: &[u8]) -> Result<(), String> {
        let event = parse(body)?;
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let received = Received {
            pubsub: field("pubsubname").unwrap_or_default(),
            topic: field("topic").unwrap_or_else(|| route_topic.to_owned()),
            content_type: field("datacontenttype").unwrap_or_default(),
            data_base64: base64::engine::general_purpose::STANDARD.encode(event.data),
        };
        let mut log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if log.events.len() < MAX_KEPT {
            log.events.push(received);
        }
        Ok(())
    }

    /// Everything received so far.
    pub fn events(&self) -> ReceivedEvents {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// The header (and gRPC metadata key) in which `bindings.cron` says when it
/// fired: Go's `time.Now().UTC().String()`.
pub const READ_TIME_HEADER: &str = "readtimeutc";

/// Reads a UTC time as Go's `Time.String` writes it
/// (`2026-12-05 14:40:00.123456789 +0000 UTC`, the fraction's trailing zeros
/// dropped), in nanoseconds since the Unix epoch.
pub fn parse_go_utc(text: &str) -> Option<u64> {
    let mut parts = text.split(' ');
    let (date, time) = (parts.next()?, parts.next()?);
    if (parts.next(), parts.next(), parts.next()) != (Some("+0000"), Some("UTC"), None) {
        return None;
    }
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let mut ymd = date.split('-');
    let (y, m, d) = (number(ymd.next()?)?, number(ymd.next()?)?, number(ymd.next()?)?);
    if ymd.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut hms = clock.split(':');
    let (h, min, sec) = (number(hms.next()?)?, number(hms.next()?)?, number(hms.next()?)?);
    if hms.next().is_some() || h > 23 || min > 59 || sec > 60 || fraction.len() > 9 {
        return None;
    }
    let nanos = if fraction.is_empty() {
        0
    } else {
        number(fraction)? * 10i64.pow(9 - fraction.len() as u32)
    };
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + min * 60 + sec;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(nanos as u64)
}

/// Now, in nanoseconds since the Unix epoch.
pub fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A delivered CloudEvent: its id and the workload's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `id`.
    pub id: String,
    /// `data_base64` decoded; else `data`: a JSON string's text, any other
    /// JSON value's compact text with object keys sorted; nothing when
    /// neither is there.
    pub data: Vec<u8>,
}

/// Reads the CloudEvent daprd delivers (structured mode, JSON).
///
/// # Errors
/// A body that is not a JSON object with a string `id`, or a `data_base64`
/// that is not base64.
pub fn parse(body: &[u8]) -> Result<Event, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the delivery is not a JSON CloudEvent: {e}"))?;
    let object = value
        .as_object()
        .ok_or("the delivery is not a JSON object (a CloudEvent)")?;
    let id = object
        .get("id")
        .and_then(serde_json::Value::as_str)
        .ok_or("the CloudEvent has no string `id`")?
        .to_owned();
    let data = match (object.get("data_base64"), object.get("data")) {
        (Some(serde_json::Value::String(b64)), _) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("`data_base64` is not base64: {e}"))?,
        (_, Some(serde_json::Value::String(text))) => text.clone().into_bytes(),
        (_, None | Some(serde_json::Value::Null)) => Vec::new(),
        (_, Some(other)) => serde_json::to_vec(other).map_err(|e| e.to_string())?,
    };
    Ok(Event { id, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_is_the_data_as_the_publisher_gave_it() {
        let text = parse(br#"{"id":"m-1","data":"visits","datacontenttype":"text/plain"}"#).unwrap();
        assert_eq!(text.id, "m-1");
        assert_eq!(text.data, b"visits");
        let json = parse(br#"{"id":"m-2","data":{"key":"a","amount":1}}"#).unwrap();
        // Keys sorted, as the wazero host writes it too (`runtimes/HOST.md`).
        assert_eq!(json.data, br#"{"amount":1,"key":"a"}"#);
        let bytes = parse(br#"{"id":"m-3","data_base64":"wyg="}"#).unwrap();
        assert_eq!(bytes.data, [0xc3, 0x28]);
        assert_eq!(parse(br#"{"id":"m-4"}"#).unwrap().data, b"");
    }

    #[test]
    fn what_is_not_a_cloudevent_is_refused_with_the_reason() {
        assert!(parse(b"visits").unwrap_err().contains("not a JSON CloudEvent"));
        assert!(parse(br#"{"data":"x"}"#).unwrap_err().contains("`id`"));
        assert!(
            parse(br#"{"id":"x","data_base64":"%%"}"#)
                .unwrap_err()
                .contains("base64")
        );
    }

    #[test]
    fn the_subscriber_records_topic_content_type_and_data() {
        let subscriber = Subscriber::default();
        let body = br#"{"id":"x","topic":"aggregates","pubsubname":"pubsub","datacontenttype":"application/json","data":{"key":"a","count":1}}"#;
        subscriber.receive("aggregates", body).unwrap();
        assert!(subscriber.receive("aggregates", b"nope").is_err());
        let got = &subscriber.events().events;
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].topic.as_str(), got[0].pubsub.as_str()),
            ("aggregates", "pubsub")
        );
        assert_eq!(got[0].content_type, "application/json");
        let data = base64::engine::general_purpose::STANDARD
            .decode(&got[0].data_base64)
            .unwrap();
        assert_eq!(data, br#"{"count":1,"key":"a"}"#);
    }

    #[test]
    fn a_bulk_delivery_is_read_entry_by_entry_and_answered_by_entry_id() {
        let body = br#"{"id":"b","type":"com.dapr.event.sent.bulk","topic":"t","pubsubname":"pubsub","metadata":{},
            "entries":[
              {"entryId":"e1","event":{"id":"m-1-5","data":"visits","datacontenttype":"text/plain"},"contentType":"application/cloudevents+json","metadata":{}},
              {"entryId":"e2","event":{"data":"no id"},"contentType":"application/cloudevents+json"},
              {"entryId":"e3","event":"cmF3","contentType":"application/octet-stream"}]}"#;
        let entries = parse_bulk(body).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].entry_id, "e1");
        let first = entries[0].event.as_ref().unwrap();
        assert_eq!(
            (first.id.as_str(), first.data.as_slice()),
            ("m-1-5", &b"visits"[..])
        );
        assert!(entries[1].event.as_ref().unwrap_err().contains("`id`"));
        assert!(
            entries[2]
                .event
                .as_ref()
                .unwrap_err()
                .contains("not a CloudEvent")
        );
        assert!(parse_bulk(br#"{"id":"x","data":"single"}"#).is_err());
        let answer: serde_json::Value =
            serde_json::from_slice(&bulk_response([("e1", Outcome::Success), ("e2", Outcome::Drop)]))
                .unwrap();
        assert_eq!(
            answer,
            serde_json::json!({"statuses":[{"entryId":"e1","status":"SUCCESS"},{"entryId":"e2","status":"DROP"}]})
        );
    }

    #[test]
    fn a_cron_firing_time_is_read_as_go_writes_it() {
        assert_eq!(parse_go_utc("1970-01-01 00:00:01 +0000 UTC"), Some(1_000_000_000));
        assert_eq!(
            parse_go_utc("2026-12-05 14:40:00.1234567 +0000 UTC"),
            Some(1_796_481_600_123_456_700)
        );
        assert_eq!(
            parse_go_utc("2024-02-29 23:59:59.000000001 +0000 UTC"),
            Some(1_709_251_199_000_000_001)
        );
        for bad in [
            "2026-12-05 14:40:00 +0100 CET",
            "2026-12-05T14:40:00Z",
            "2026-13-05 14:40:00 +0000 UTC",
            "2026-12-05 14:40:00.1234567890 +0000 UTC",
            "2026-12-05 14:40:00.-1 +0000 UTC",
            "",
        ] {
            assert_eq!(parse_go_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_log_pages_from_an_offset() {
        let log = EventLog::default();
        log.record("a".into(), Outcome::Success);
        log.record("b".into(), Outcome::Drop);
        let all = log.since(0);
        assert_eq!(all.deliveries.len(), 2);
        assert_eq!(log.since(1).deliveries[0].id, "b");
        assert!(log.since(5).deliveries.is_empty());
    }
}
