//! An in-memory state store with Dapr's etag rules, standing in for the
//! sidecar in the guest suite.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::{Concurrency, DaprHost, HostError, HostResult, LogLevel, Precondition, StateEntry};

/// State in memory, with an etag per key that counts its writes; publish and
/// bindings are refused as not permitted.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<HashMap<String, (Vec<u8>, u64)>>,
    logs: Mutex<Vec<String>>,
}

impl MemoryStore {
    /// The value of `key`, if set.
    pub fn value(&self, key: &str) -> Option<Vec<u8>> {
        self.state().get(key).map(|(value, _)| value.clone())
    }

    /// Forgets every key, as a new store would start.
    pub fn clear(&self) {
        self.state().clear();
    }

    /// The guest's log lines so far, as `Level: message`.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn state(&self) -> MutexGuard<'_, HashMap<String, (Vec<u8>, u64)>> {
        // A failed assertion in another test thread must not hide this one's.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl DaprHost for MemoryStore {
    fn state_get(&self, _store: &str, key: &str) -> HostResult<Option<StateEntry>> {
        Ok(self.state().get(key).map(|(value, etag)| StateEntry {
            value: value.clone(),
            etag: Some(etag.to_string()),
        }))
    }

    fn state_set(&self, _store: &str, key: &str, value: &[u8], check: Precondition<'_>) -> HostResult<()> {
        let mut state = self.state();
        let current = state.get(key).map(|(_, e)| e.to_string());
        let ok = match (check.concurrency, check.etag) {
            (Concurrency::LastWrite, _) => true,
            (Concurrency::FirstWrite, Some(etag)) => current.as_deref() == Some(etag),
            (Concurrency::FirstWrite, None) => current.is_none(),
        };
        if !ok {
            return Err(HostError::EtagMismatch);
        }
        let next = state.get(key).map_or(1, |(_, e)| e + 1);
        state.insert(key.to_owned(), (value.to_vec(), next));
        Ok(())
    }

    fn state_delete(&self, _: &str, key: &str, _: Precondition<'_>) -> HostResult<()> {
        self.state().remove(key);
        Ok(())
    }

    fn publish(&self, _: &str, _: &str, _: &[u8], _: &str) -> HostResult<()> {
        Err(HostError::NotPermitted)
    }

    fn invoke_binding(&self, _: &str, _: &str, _: &[u8]) -> HostResult<Vec<u8>> {
        Err(HostError::NotPermitted)
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(format!("{level:?}: {message}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_write_needs_the_current_etag() {
        let store = MemoryStore::default();
        let first = Precondition::first_write;
        store.state_set("s", "k", b"1", first(None)).unwrap();
        assert_eq!(
            store.state_set("s", "k", b"2", first(None)),
            Err(HostError::EtagMismatch)
        );
        let etag = store.state_get("s", "k").unwrap().unwrap().etag.unwrap();
        store.state_set("s", "k", b"2", first(Some(&etag))).unwrap();
        assert_eq!(
            store.state_set("s", "k", b"3", first(Some(&etag))),
            Err(HostError::EtagMismatch)
        );
        let stale = Precondition {
            etag: Some("stale"),
            ..Precondition::LAST_WRITE
        };
        store.state_set("s", "k", b"4", stale).unwrap();
        assert_eq!(store.value("k").as_deref(), Some(&b"4"[..]));
        store.state_delete("s", "k", first(None)).unwrap();
        assert_eq!(store.value("k"), None);
    }
}
