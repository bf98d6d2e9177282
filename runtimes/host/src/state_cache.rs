//! The talk's "reduce talks with local state and caching" variation of the
//! embedded blueprint (`embedded+cache`): a read-through cache of state gets
//! in front of the sidecar, bounded in entries and age.
//!
//! Writes go through to Dapr and then drop the key from the cache rather
//! than storing the written value: Dapr's save does not return the new etag,
//! and a cached value without its etag would make the next first-write
//! (every etag-aware workload) fail and retry. An etag mismatch drops the key
//! too, so a stale entry costs one retry, never a wrong answer. The cache is
//! per host process, so it is only coherent while this app is the only
//! writer — true in every blueprint cell.
//!
//! A miss reads Dapr without holding the lock, so a write can land between
//! that read and the store of what it read; storing it then would serve the
//! old value for a whole TTL. Each write therefore stamps its key with a
//! fresh tick of a clock, and a fill stores only if no write to its key was
//! stamped after the fill started. Stamps are kept only while a fill that
//! started before them is still in flight.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blueprint_runtime_api::{DaprHost, HostError, HostResult, Precondition, StateEntry};
use serde::{Deserialize, Serialize};

/// Hits and misses, for `GET /stats` and the results' hit ratio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Gets answered from the cache.
    pub hits: u64,
    /// Gets that went to the sidecar.
    pub misses: u64,
}

type Key = (String, String);

/// A cached answer: the value (`None` for a key known to have no value),
/// when it was stored, and the sequence number of its place in `order`.
struct Cached {
    value: Option<StateEntry>,
    at: Instant,
    seq: u64,
}

struct Entries {
    /// Cached answers.
    map: HashMap<Key, Cached>,
    /// Insertion order, for first-in-first-out eviction. A key dropped by a
    /// write and cached again has a stale place here too: only the place
    /// whose `seq` is the entry's own counts.
    order: VecDeque<(u64, Key)>,
    /// Numbers the places in `order`.
    next_seq: u64,
    /// Ticks once per write.
    clock: u64,
    /// The tick of the last write to each key, while a fill may need it.
    written: HashMap<Key, u64>,
    /// Fills in flight, by the tick they started at.
    fills: BTreeMap<u64, usize>,
}

/// A read-through state cache in front of `inner`.
pub struct StateCache {
    inner: Arc<dyn DaprHost>,
    ttl: Duration,
    capacity: usize,
    entries: Mutex<Entries>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for StateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("stats", &self.stats())
            .finish()
    }
}

impl StateCache {
    /// Caches up to `capacity` keys for at most `ttl` each.
    pub fn new(inner: Arc<dyn DaprHost>, ttl: Duration, capacity: usize) -> Self {
        Self {
            inner,
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                order: VecDeque::new(),
                next_seq: 0,
                clock: 0,
                written: HashMap::new(),
                fills: BTreeMap::new(),
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves plain data behind: keep going.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A write to `key`: drop it and stamp it, so fills that read it
    /// before the write do not store what they read.
    fn forget(&self, store: &str, key: &str) {
        let mut entries = self.lock();
        let key = (store.to_owned(), key.to_owned());
        entries.map.remove(&key);
        entries.clock += 1;
        if !entries.fills.is_empty() {
            let tick = entries.clock;
            entries.written.insert(key, tick);
        }
    }

    /// A miss starts reading Dapr: the tick to check its store against.
    fn begin_fill(&self) -> u64 {
        self.begin_fills(1)
    }

    /// `n` misses start reading Dapr together (one bulk read): one tick for
    /// all, and `n` fills in flight, each ended by its own [`Self::end_fill`].
    fn begin_fills(&self, n: usize) -> u64 {
        let mut entries = self.lock();
        let start = entries.clock;
        *entries.fills.entry(start).or_default() += n;
        start
    }

    /// A fill that started at `start` ends, with what it read if it read
    /// anything; that is stored only if no write to `key` came since.
    fn end_fill(&self, key: Key, start: u64, value: Option<Option<StateEntry>>) {
        let mut entries = self.lock();
        if let Some(n) = entries.fills.get_mut(&start) {
            *n -= 1;
            if *n == 0 {
                entries.fills.remove(&start);
            }
        }
        let current = entries.written.get(&key).is_none_or(|&tick| tick <= start);
        // A stamp no older than the oldest fill in flight can matter to it;
        // the others cannot.
        match entries.fills.keys().next().copied() {
            None => entries.written.clear(),
            Some(oldest) => entries.written.retain(|_, tick| *tick > oldest),
        }
        if let (true, Some(value)) = (current, value) {
            Self::remember(&mut entries, self.capacity, key, value);
        }
    }

    fn remember(entries: &mut Entries, capacity: usize, key: Key, value: Option<StateEntry>) {
        let seq = entries.next_seq;
        entries.next_seq += 1;
        let at = Instant::now();
        match entries.map.get_mut(&key) {
            // Refreshed in place: it keeps its place in the order.
            Some(cached) => {
                cached.value = value;
                cached.at = at;
            }
            None => {
                entries.map.insert(key.clone(), Cached { value, at, seq });
                entries.order.push_back((seq, key));
            }
        }
        while entries.map.len() > capacity {
            let Some((seq, oldest)) = entries.order.pop_front() else {
                break;
            };
            if entries.map.get(&oldest).is_some_and(|c| c.seq == seq) {
                entries.map.remove(&oldest);
            }
        }
        // Keys dropped by writes leave stale places in `order` (one per
        // drop and refill: a hot key written on every request leaves one per
        // request); drop them once they outnumber the live ones, which keeps
        // `order` under twice the capacity and the cost of this sweep
        // amortised over as many fills as it removes.
        if entries.order.len() > 2 * capacity {
            let Entries { map, order, .. } = entries;
            order.retain(|(seq, k)| map.get(k).is_some_and(|c| c.seq == *seq));
        }
    }

    fn after_write(&self, store: &str, key: &str, result: HostResult<()>) -> HostResult<()> {
        // Success, mismatch or failure: what the cache holds for the key may
        // no longer be what the store holds.
        self.forget(store, key);
        result
    }
}

impl DaprHost for StateCache {
    fn state_get(&self, store: &str, key: &str) -> HostResult<Option<StateEntry>> {
        let cache_key = (store.to_owned(), key.to_owned());
        if let Some(cached) = self.lock().map.get(&cache_key)
            && cached.at.elapsed() < self.ttl
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(cached.value.clone());
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let start = self.begin_fill();
        let value = self.inner.state_get(store, key);
        self.end_fill(cache_key, start, value.as_ref().ok().cloned());
        value
    }

    /// Hits come from the cache; the misses (each distinct key once) go to
    /// the sidecar in one bulk read, and fill the cache as single gets do.
    fn state_get_bulk(&self, store: &str, keys: &[&str]) -> HostResult<Vec<Option<StateEntry>>> {
        let mut answers: Vec<Option<Option<StateEntry>>> = Vec::with_capacity(keys.len());
        let mut missing: Vec<&str> = Vec::new();
        {
            let entries = self.lock();
            for &key in keys {
                match entries.map.get(&(store.to_owned(), key.to_owned())) {
                    Some(cached) if cached.at.elapsed() < self.ttl => {
                        answers.push(Some(cached.value.clone()))
                    }
                    _ => {
                        answers.push(None);
                        if !missing.contains(&key) {
                            missing.push(key);
                        }
                    }
                }
            }
        }
        let misses = answers.iter().filter(|a| a.is_none()).count();
        self.hits
            .fetch_add((keys.len() - misses) as u64, Ordering::Relaxed);
        self.misses.fetch_add(misses as u64, Ordering::Relaxed);
        if missing.is_empty() {
            return Ok(answers.into_iter().flatten().collect());
        }
        let start = self.begin_fills(missing.len());
        let read = match self.inner.state_get_bulk(store, &missing) {
            Ok(values) if values.len() != missing.len() => Err(HostError::Unavailable(format!(
                "{} answers for {} keys",
                values.len(),
                missing.len()
            ))),
            other => other,
        };
        let read = match read {
            Ok(values) => values,
            Err(err) => {
                for key in &missing {
                    self.end_fill((store.to_owned(), (*key).to_owned()), start, None);
                }
                return Err(err);
            }
        };
        for (key, value) in missing.iter().zip(&read) {
            self.end_fill((store.to_owned(), (*key).to_owned()), start, Some(value.clone()));
        }
        Ok(keys
            .iter()
            .zip(answers)
            .map(|(key, answer)| {
                answer.unwrap_or_else(|| {
                    let at = missing.iter().position(|m| m == key).unwrap_or_default();
                    read[at].clone()
                })
            })
            .collect())
    }

    fn state_set(&self, store: &str, key: &str, value: &[u8], check: Precondition<'_>) -> HostResult<()> {
        let result = self.inner.state_set(store, key, value, check);
        self.after_write(store, key, result)
    }

    fn state_delete(&self, store: &str, key: &str, check: Precondition<'_>) -> HostResult<()> {
        let result = self.inner.state_delete(store, key, check);
        self.after_write(store, key, result)
    }

    blueprint_runtime_api::forward_dapr_host!(self.inner => publish, invoke_binding, log, http_request);
}

#[cfg(test)]
mod tests {
    use super::*;
    use blueprint_runtime_api::NoDapr;

    /// A store in memory with version-number etags, counting the gets that reach it.
    #[derive(Default)]
    struct Store {
        data: Mutex<HashMap<String, (Vec<u8>, u64)>>,
        gets: AtomicU64,
    }

    impl DaprHost for Store {
        fn state_get(&self, _: &str, key: &str) -> HostResult<Option<StateEntry>> {
            self.gets.fetch_add(1, Ordering::Relaxed);
            Ok(self.data.lock().unwrap().get(key).map(|(v, version)| StateEntry {
                value: v.clone(),
                etag: Some(version.to_string()),
            }))
        }
        fn state_set(&self, _: &str, key: &str, value: &[u8], check: Precondition<'_>) -> HostResult<()> {
            let mut data = self.data.lock().unwrap();
            let current = data.get(key).map(|(_, v)| v.to_string());
            if check.etag.map(str::to_owned) != current {
                return Err(HostError::EtagMismatch);
            }
            let version = current.map_or(1, |v| v.parse::<u64>().unwrap() + 1);
            data.insert(key.to_owned(), (value.to_vec(), version));
            Ok(())
        }
        fn state_delete(&self, _: &str, key: &str, _: Precondition<'_>) -> HostResult<()> {
            self.data.lock().unwrap().remove(key);
            Ok(())
        }
        blueprint_runtime_api::forward_dapr_host!(NoDapr => publish, invoke_binding, log);
    }

    #[test]
    fn repeated_gets_hit_and_writes_are_never_served_stale() {
        let store = Arc::new(Store::default());
        let cache = StateCache::new(store.clone(), Duration::from_secs(60), 16);
        assert_eq!(cache.state_get("s", "k").unwrap(), None);
        assert_eq!(cache.state_get("s", "k").unwrap(), None);
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 1 });
        cache
            .state_set("s", "k", b"1", Precondition::first_write(None))
            .unwrap();
        let entry = cache.state_get("s", "k").unwrap().unwrap();
        assert_eq!(
            (entry.value.as_slice(), entry.etag.as_deref()),
            (&b"1"[..], Some("1"))
        );
        // The etag read through the cache is the store's: a first-write with it succeeds.
        let check = Precondition::first_write(entry.etag.as_deref());
        cache.state_set("s", "k", b"2", check).unwrap();
        assert_eq!(cache.state_get("s", "k").unwrap().unwrap().value, b"2");
        assert_eq!(store.gets.load(Ordering::Relaxed), 3);
    }

    /// Counts bulk reads and the keys they asked for.
    #[derive(Default)]
    struct BulkStore {
        store: Store,
        bulk: Mutex<Vec<Vec<String>>>,
    }

    impl DaprHost for BulkStore {
        fn state_get_bulk(&self, s: &str, keys: &[&str]) -> HostResult<Vec<Option<StateEntry>>> {
            self.bulk
                .lock()
                .unwrap()
                .push(keys.iter().map(|k| (*k).to_owned()).collect());
            keys.iter().map(|k| self.store.state_get(s, k)).collect()
        }
        blueprint_runtime_api::forward_dapr_host!(self.store => state_get, state_set, state_delete);
        blueprint_runtime_api::forward_dapr_host!(NoDapr => publish, invoke_binding, log);
    }

    #[test]
    fn a_bulk_read_answers_hits_from_the_cache_and_misses_in_one_call() {
        let store = Arc::new(BulkStore::default());
        store
            .store
            .state_set("s", "b", b"7", Precondition::first_write(None))
            .unwrap();
        let cache = StateCache::new(store.clone(), Duration::from_secs(60), 16);
        cache.state_get("s", "a").unwrap();
        let seven = Some(StateEntry {
            value: b"7".to_vec(),
            etag: Some("1".into()),
        });
        // `a` is cached (no value); `b` and `c` are read once, in one call.
        let answers = cache.state_get_bulk("s", &["a", "b", "c", "b"]).unwrap();
        assert_eq!(answers, vec![None, seven.clone(), None, seven.clone()]);
        assert_eq!(
            *store.bulk.lock().unwrap(),
            vec![vec!["b".to_owned(), "c".to_owned()]]
        );
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 4 });
        // Now all are cached: no call at all.
        assert_eq!(cache.state_get_bulk("s", &["c", "b"]).unwrap(), vec![None, seven]);
        assert_eq!(store.bulk.lock().unwrap().len(), 1);
        assert_eq!(cache.stats(), CacheStats { hits: 3, misses: 4 });
        // A write drops its key: the next bulk read asks for it alone.
        cache.state_set("s", "c", b"1", Precondition::LAST_WRITE).unwrap();
        let answers = cache.state_get_bulk("s", &["b", "c"]).unwrap();
        assert_eq!(answers[1].as_ref().unwrap().value, b"1");
        assert_eq!(store.bulk.lock().unwrap()[1], vec!["c".to_owned()]);
    }

    #[test]
    fn a_mismatch_drops_the_key_so_the_retry_reads_the_store() {
        let store = Arc::new(Store::default());
        let cache = StateCache::new(store.clone(), Duration::from_secs(60), 16);
        let stale = cache.state_get("s", "k").unwrap(); // caches "no value"
        store
            .state_set("s", "k", b"9", Precondition::first_write(None))
            .unwrap(); // another writer
        let stale_etag = stale.and_then(|e| e.etag);
        assert_eq!(
            cache.state_set("s", "k", b"1", Precondition::first_write(stale_etag.as_deref())),
            Err(HostError::EtagMismatch)
        );
        assert_eq!(cache.state_get("s", "k").unwrap().unwrap().value, b"9");
    }

    #[test]
    fn entries_expire_and_the_oldest_is_evicted_at_capacity() {
        let store = Arc::new(Store::default());
        let cache = StateCache::new(store.clone(), Duration::from_millis(30), 2);
        for key in ["a", "b", "c"] {
            cache.state_get("s", key).unwrap();
        }
        cache.state_get("s", "c").unwrap(); // hit
        cache.state_get("s", "a").unwrap(); // evicted: miss
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 4 });
        std::thread::sleep(Duration::from_millis(40));
        cache.state_get("s", "a").unwrap(); // expired: miss
        assert_eq!(cache.stats().misses, 5);
    }

    #[test]
    fn a_hot_key_written_on_every_request_leaves_the_order_bounded() {
        // `counter` on one key: every request reads (a miss after the last
        // write), caches, writes and drops the key. Each refill used to add a
        // place in the order that the sweep kept, since the key was live,
        // so the order grew by one per request and the sweep ran on every
        // fill: memory and time per request both grew with the run.
        let store = Arc::new(Store::default());
        let capacity = 8;
        let cache = StateCache::new(store.clone(), Duration::from_secs(60), capacity);
        for _ in 0..1_000 {
            let etag = cache.state_get("s", "hot").unwrap().and_then(|e| e.etag);
            cache
                .state_set("s", "hot", b"v", Precondition::first_write(etag.as_deref()))
                .unwrap();
        }
        cache.state_get("s", "hot").unwrap();
        let entries = cache.lock();
        assert!(
            entries.order.len() <= 2 * capacity + 1,
            "order holds {} places for {} live key(s)",
            entries.order.len(),
            entries.map.len()
        );
    }

    #[test]
    fn a_stale_place_in_the_order_does_not_evict_a_fresh_entry() {
        let store = Arc::new(Store::default());
        let cache = StateCache::new(store.clone(), Duration::from_secs(60), 2);
        cache.state_get("s", "a").unwrap(); // a's first place
        cache.state_set("s", "a", b"1", Precondition::LAST_WRITE).unwrap(); // dropped
        cache.state_get("s", "b").unwrap();
        cache.state_get("s", "a").unwrap(); // cached again, behind b
        cache.state_get("s", "c").unwrap(); // over capacity: b is the oldest live entry
        let misses = cache.stats().misses;
        cache.state_get("s", "a").unwrap();
        assert_eq!(cache.stats().misses, misses, "a, the newest but one, was evicted");
        cache.state_get("s", "b").unwrap();
        assert_eq!(cache.stats().misses, misses + 1, "b should have been evicted");
    }

    /// [`Store`] whose next get, once armed, reads and then waits: the
    /// slow read of a miss that a write overtakes.
    struct SlowStore {
        store: Store,
        armed: std::sync::atomic::AtomicBool,
        read: std::sync::Barrier,
        resume: std::sync::Barrier,
    }

    impl SlowStore {
        fn new() -> Self {
            Self {
                store: Store::default(),
                armed: false.into(),
                read: std::sync::Barrier::new(2),
                resume: std::sync::Barrier::new(2),
            }
        }
    }

    impl DaprHost for SlowStore {
        fn state_get(&self, s: &str, key: &str) -> HostResult<Option<StateEntry>> {
            let value = self.store.state_get(s, key);
            if self.armed.swap(false, Ordering::SeqCst) {
                self.read.wait();
                self.resume.wait();
            }
            value
        }
        blueprint_runtime_api::forward_dapr_host!(self.store => state_set, state_delete);
        blueprint_runtime_api::forward_dapr_host!(NoDapr => publish, invoke_binding, log);
    }

    #[test]
    fn a_fill_overtaken_by_a_write_does_not_store_the_old_value() {
        let store = Arc::new(SlowStore::new());
        let cache = Arc::new(StateCache::new(store.clone(), Duration::from_secs(60), 16));
        cache
            .state_set("s", "k", b"old", Precondition::LAST_WRITE)
            .unwrap();
        store.armed.store(true, Ordering::SeqCst);
        let reader = {
            let cache = cache.clone();
            std::thread::spawn(move || cache.state_get("s", "k").unwrap().unwrap().value)
        };
        store.read.wait(); // the miss has read "old" …
        cache
            .state_set("s", "k", b"new", Precondition::first_write(Some("1")))
            .unwrap(); // … a write lands …
        store.resume.wait(); // … and the miss goes on to store what it read
        assert_eq!(reader.join().unwrap(), b"old");
        assert_eq!(cache.state_get("s", "k").unwrap().unwrap().value, b"new");
        // Nothing in flight: no stamps left behind.
        let entries = cache.lock();
        assert!(entries.written.is_empty() && entries.fills.is_empty());
    }
}
