//! The native backend: `counter`, `aggregate`, `fanout`, `fanout-bulk` and `lookup`, built as plain rlibs, run
//! against an in-memory `NativeImports` with the `dapr` imports' semantics
//! (etags, first-write, the result slot).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use blueprint_guest::native::{NativeImports, with_imports};

const NOT_FOUND: i64 = -1;
const ETAG_MISMATCH: i64 = -2;
const NO_RESULT: i64 = -5;
const BUFFER_TOO_SMALL: i64 = -6;

/// Key -> (value, etag).
type Store = HashMap<Vec<u8>, (Vec<u8>, u64)>;

/// One state store, the published events and the result slot.
#[derive(Default)]
struct Memory {
    state: RefCell<Store>,
    next_etag: Cell<u64>,
    published: RefCell<Vec<(String, String, String)>>,
    slot: RefCell<Option<Vec<u8>>>,
    /// This many upcoming writes fail with `ETAG_MISMATCH`, as if another
    /// writer got there first.
    lose_writes: Cell<u32>,
    /// `state_get_bulk` calls so far.
    bulk_reads: Cell<u32>,
}

impl NativeImports for Memory {
    fn state_get(&self, _store: &[u8], key: &[u8]) -> i64 {
        let Some((value, etag)) = self.state.borrow().get(key).cloned() else {
            return NOT_FOUND;
        };
        let etag = etag.to_string();
        let mut result = (etag.len() as u32).to_le_bytes().to_vec();
        result.extend_from_slice(etag.as_bytes());
        result.extend_from_slice(&value);
        let len = result.len() as i64;
        *self.slot.borrow_mut() = Some(result);
        len
    }

    fn state_get_bulk(&self, _store: &[u8], keys: &[u8]) -> i64 {
        self.bulk_reads.set(self.bulk_reads.get() + 1);
        let (count, mut rest) = keys.split_at(4);
        let mut result = Vec::new();
        for _ in 0..u32::from_le_bytes(count.try_into().unwrap()) {
            let (len, after) = rest.split_at(4);
            let (key, after) = after.split_at(u32::from_le_bytes(len.try_into().unwrap()) as usize);
            rest = after;
            match self.state.borrow().get(key) {
                None => result.push(0),
                Some((value, etag)) => {
                    let etag = etag.to_string();
                    result.push(1);
                    result.extend_from_slice(&(etag.len() as u32).to_le_bytes());
                    result.extend_from_slice(etag.as_bytes());
                    result.extend_from_slice(&(value.len() as u32).to_le_bytes());
                    result.extend_from_slice(value);
                }
            }
        }
        let len = result.len() as i64;
        *self.slot.borrow_mut() = Some(result);
        len
    }

    fn state_set(&self, _store: &[u8], key: &[u8], value: &[u8], etag: &[u8], concurrency: i32) -> i64 {
        if self.lose_writes.get() > 0 {
            self.lose_writes.set(self.lose_writes.get() - 1);
            return ETAG_MISMATCH;
        }
        let mut state = self.state.borrow_mut();
        let current = state.get(key).map(|(_, etag)| etag.to_string());
        let allowed = match (concurrency, current, etag) {
            (0, _, _) => true,
            (_, None, b"") => true,
            (_, Some(current), etag) => current.as_bytes() == etag,
            (_, None, _) => false,
        };
        if !allowed {
            return ETAG_MISMATCH;
        }
        self.next_etag.set(self.next_etag.get() + 1);
        state.insert(key.to_vec(), (value.to_vec(), self.next_etag.get()));
        0
    }

    fn state_delete(&self, _store: &[u8], key: &[u8], _etag: &[u8], _concurrency: i32) -> i64 {
        self.state.borrow_mut().remove(key);
        0
    }

    fn publish(&self, pubsub: &[u8], topic: &[u8], data: &[u8], _content_type: &[u8]) -> i64 {
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        self.published
            .borrow_mut()
            .push((text(pubsub), text(topic), text(data)));
        0
    }

    fn invoke_binding(&self, _name: &[u8], _operation: &[u8], _data: &[u8]) -> i64 {
        -7
    }

    fn log(&self, _level: i32, _message: &[u8]) {}

    fn take_result(&self, buf: &mut [u8]) -> i64 {
        let mut slot = self.slot.borrow_mut();
        match slot.take() {
            None => NO_RESULT,
            Some(result) if result.len() > buf.len() => {
                *slot = Some(result);
                BUFFER_TOO_SMALL
            }
            Some(result) => {
                buf[..result.len()].copy_from_slice(&result);
                result.len() as i64
            }
        }
    }
}

fn text(result: Result<Vec<u8>, String>) -> Result<String, String> {
    result.map(|bytes| String::from_utf8(bytes).unwrap())
}

fn stored(memory: &Memory, key: &str) -> String {
    String::from_utf8(memory.state.borrow()[key.as_bytes()].0.clone()).unwrap()
}

#[test]
fn counter_counts_in_the_installed_backend() {
    let memory = Memory::default();
    with_imports(&memory, || {
        assert_eq!(text(counter::handle(b"visits")), Ok("1".into()));
        assert_eq!(text(counter::handle(b"visits")), Ok("2".into()));
        assert_eq!(text(counter::handle(b"orders")), Ok("1".into()));
        // Two lost races are retried with a fresh read.
        memory.lose_writes.set(2);
        assert_eq!(text(counter::handle(b"visits")), Ok("3".into()));
        memory.lose_writes.set(64);
        assert_eq!(
            text(counter::handle(b"visits")),
            Err("too much contention".into())
        );
    });
    assert_eq!(stored(&memory, "visits"), "3");
    assert_eq!(stored(&memory, "orders"), "1");
}

#[test]
fn aggregate_folds_stores_and_publishes() {
    let memory = Memory::default();
    with_imports(&memory, || {
        let run = |event: &str| text(aggregate::handle(event.as_bytes()));
        assert_eq!(
            run(r#"{"key":"sensor-1","amount":10}"#),
            Ok(r#"{"count":1,"max":10,"min":10,"sum":10}"#.into())
        );
        assert_eq!(
            run(r#"{ "amount" : -4 , "key" : "sensor-1" }"#),
            Ok(r#"{"count":2,"max":10,"min":-4,"sum":6}"#.into())
        );
        assert_eq!(
            run(r#"{"key":"","amount":1}"#),
            Err("key must be a string of 1 to 128 bytes".into())
        );
    });
    assert_eq!(
        stored(&memory, "sensor-1"),
        r#"{"count":2,"max":10,"min":-4,"sum":6}"#
    );
    let published = memory.published.borrow();
    assert_eq!(published.len(), 2);
    assert_eq!(
        published[1],
        (
            "pubsub".into(),
            "aggregates".into(),
            r#"{"key":"sensor-1","count":2,"max":10,"min":-4,"sum":6}"#.into()
        )
    );
}

#[test]
fn a_corrupt_stored_value_is_a_guest_error() {
    let memory = Memory::default();
    memory
        .state
        .borrow_mut()
        .insert(b"k".to_vec(), (b"{\"count\":1}".to_vec(), 1));
    let result = with_imports(&memory, || aggregate::handle(br#"{"key":"k","amount":1}"#));
    assert_eq!(result, Err("stored value is not an aggregate".into()));
}

#[test]
fn fanout_reads_k_counters_and_increments_the_one_the_sum_picks() {
    let memory = Memory::default();
    // Stored by someone else: counters with leading zeros count.
    memory
        .state
        .borrow_mut()
        .insert(b"fan.2".to_vec(), (b"007".to_vec(), 1));
    with_imports(&memory, || {
        let run = |request: &str| text(fanout::handle(request.as_bytes()));
        // 7 mod 8: the eighth counter becomes 1.
        assert_eq!(run(r#"{"key":"fan","k":8}"#), Ok(r#"{"found":1,"sum":7}"#.into()));
        // 8 mod 8: the first.
        assert_eq!(run(r#"{"key":"fan","k":8}"#), Ok(r#"{"found":2,"sum":8}"#.into()));
        // 8 mod 4: the first again; `fan.7` is not read.
        assert_eq!(run(r#"{"k":4,"key":"fan"}"#), Ok(r#"{"found":2,"sum":8}"#.into()));
        // Lost writes are not retried: last-write-wins has no mismatch.
        memory.lose_writes.set(1);
        assert_eq!(run(r#"{"key":"fan","k":1}"#), Err("dapr: etag mismatch".into()));
    });
    assert_eq!(stored(&memory, "fan.0"), "2");
    assert!(!memory.state.borrow().contains_key(&b"fan.1"[..]));
    assert_eq!(stored(&memory, "fan.2"), "007");
    assert_eq!(stored(&memory, "fan.7"), "1");
}

#[test]
fn fanout_bulk_answers_as_fanout_does_with_one_bulk_read_per_request() {
    let (one, bulk) = (Memory::default(), Memory::default());
    for memory in [&one, &bulk] {
        memory
            .state
            .borrow_mut()
            .insert(b"fan.2".to_vec(), (b"007".to_vec(), 1));
    }
    let requests = [
        r#"{"key":"fan","k":8}"#,
        r#"{"key":"fan","k":8}"#,
        r#"{"k":4,"key":"fan"}"#,
        r#"{"key":"fan","k":64}"#,
        r#"{"key":"fan","k":0}"#,
    ];
    for request in requests {
        let expected = with_imports(&one, || fanout::handle(request.as_bytes()));
        let reads = bulk.bulk_reads.get();
        let got = with_imports(&bulk, || fanout_bulk::handle(request.as_bytes()));
        assert_eq!(got, expected, "{request}");
        let made = bulk.bulk_reads.get() - reads;
        assert_eq!(made, u32::from(got.is_ok()), "{request}: {made} bulk reads");
    }
    assert_eq!(*one.state.borrow(), *bulk.state.borrow());
    bulk.state
        .borrow_mut()
        .insert(b"bad.0".to_vec(), (b"x".to_vec(), 1));
    let result = with_imports(&bulk, || fanout_bulk::handle(br#"{"key":"bad","k":2}"#));
    assert_eq!(result, Err("stored value is not a counter".into()));
}

#[test]
fn fanout_refuses_what_is_not_a_counter_and_sums_beyond_the_subset() {
    let memory = Memory::default();
    let put = |key: &str, value: &str| {
        memory
            .state
            .borrow_mut()
            .insert(key.as_bytes().to_vec(), (value.as_bytes().to_vec(), 1));
    };
    put("bad.1", "+1");
    put("big.0", "9223372036854775806");
    put("top.0", "9223372036854775807");
    put("wrap.0", "18446744073709551615");
    put("wrap.1", "1");
    with_imports(&memory, || {
        let run = |request: &str| text(fanout::handle(request.as_bytes()));
        assert_eq!(
            run(r#"{"key":"bad","k":2}"#),
            Err("stored value is not a counter".into())
        );
        assert_eq!(
            run(r#"{"key":"big","k":1}"#),
            Ok(r#"{"found":1,"sum":9223372036854775806}"#.into())
        );
        assert_eq!(run(r#"{"key":"top","k":1}"#), Err("counter overflow".into()));
        assert_eq!(run(r#"{"key":"wrap","k":2}"#), Err("counter overflow".into()));
    });
    assert_eq!(stored(&memory, "big.0"), "9223372036854775807");
    assert_eq!(stored(&memory, "bad.1"), "+1");
}

#[test]
fn lookup_stores_a_missing_key_once_and_then_only_reads() {
    let memory = Memory::default();
    memory
        .state
        .borrow_mut()
        .insert(b"seeded".to_vec(), (br#"{"any":"value"}"#.to_vec(), 1));
    with_imports(&memory, || {
        assert_eq!(text(lookup::handle(b"hot")), Ok("3".into()));
        assert_eq!(text(lookup::handle(b"hot")), Ok("3".into()));
        // Whatever is stored is the answer, byte for byte.
        assert_eq!(text(lookup::handle(b"seeded")), Ok(r#"{"any":"value"}"#.into()));
        // A lost first write reads again; the store here stays empty, so
        // every attempt loses.
        memory.lose_writes.set(64);
        assert_eq!(text(lookup::handle(b"cold")), Err("too much contention".into()));
        memory.lose_writes.set(2);
        assert_eq!(text(lookup::handle(b"cold")), Ok("4".into()));
    });
    assert_eq!(stored(&memory, "hot"), "3");
    assert_eq!(stored(&memory, "cold"), "4");
    assert_eq!(memory.next_etag.get(), 2, "one write per new key, none for reads");
}

#[test]
fn without_a_backend_dapr_calls_are_not_permitted() {
    assert_eq!(counter::handle(b"visits"), Err("dapr: not permitted".into()));
    // The backend is gone again once `with_imports` returns.
    let memory = Memory::default();
    with_imports(&memory, || counter::handle(b"visits")).unwrap();
    assert_eq!(counter::handle(b"visits"), Err("dapr: not permitted".into()));
}
