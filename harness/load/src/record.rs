//! Per-worker recording: latency histograms rotated per interval, error and
//! schedule tallies. A worker owns its [`Recorder`]; nothing here is shared,
//! locked or written to I/O. After the run, [`assemble`] merges the workers'
//! parts into one [`LoadReport`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;

use super::threads::ThreadCpu;
use super::{
    GeneratorReport, IntervalHistograms, LoadReport, LoadSpec, MAX_TRACKABLE_NS, Mode, ScheduleReport,
    Window, new_histogram,
};

/// Why a request failed, as tallied (`Display` gives the report's label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The TCP connection (or the h2 handshake) could not be made.
    Connect,
    /// The server closed the connection before a whole response.
    ConnectionClosed,
    /// The response could not be parsed.
    Malformed,
    /// Another transport error while sending or receiving the head.
    Io,
    /// The body broke off.
    Body,
    /// The request timeout, or the hard stop after the grace period.
    Timeout,
    /// A response with a status other than 2xx.
    Status(u16),
    /// A gRPC response (h2c) whose `grpc-status` is not 0 (OK).
    Grpc(u16),
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrorKind::Connect => f.write_str("connect"),
            ErrorKind::ConnectionClosed => f.write_str("connection-closed"),
            ErrorKind::Malformed => f.write_str("malformed-response"),
            ErrorKind::Io => f.write_str("io"),
            ErrorKind::Body => f.write_str("body"),
            ErrorKind::Timeout => f.write_str("timeout"),
            ErrorKind::Status(code) => write!(f, "http-{code}"),
            ErrorKind::Grpc(code) => write!(f, "grpc-{code}"),
        }
    }
}

/// A histogram's recorded buckets, kept once its interval is over (a full
/// histogram per worker and interval would cost far more memory).
type Sparse = Vec<(u64, u64)>;

fn sparse(h: &Histogram<u64>) -> Sparse {
    let mut pairs: Sparse = h
        .iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect();
    // Collecting doubles the capacity as it goes; the pairs are kept until
    // the run ends, the slack with them.
    pairs.shrink_to_fit();
    pairs
}

fn add_sparse(h: &mut Histogram<u64>, s: &Sparse) {
    for &(value, count) in s {
        h.record_n(value, count).expect("auto-resizing histogram");
    }
}

/// Bytes held in this process by finished intervals, across every recorder
/// and run until their report is assembled: memory a run's time series is
/// meant to hold, which grows with the run's length. A soak reads it beside
/// the process's RSS to tell that growth from a leak.
static SERIES_BYTES: AtomicU64 = AtomicU64::new(0);

/// See [`SERIES_BYTES`].
pub fn series_bytes() -> u64 {
    SERIES_BYTES.load(Ordering::Relaxed)
}

/// One worker's histograms of one finished interval.
struct IntervalPart {
    index: u64,
    latency: Sparse,
    service: Sparse,
}

impl IntervalPart {
    fn new(index: u64, latency: Sparse, service: Sparse) -> Self {
        let part = Self {
            index,
            latency,
            service,
        };
        SERIES_BYTES.fetch_add(part.bytes(), Ordering::Relaxed);
        part
    }

    /// Its slot in the worker's list and its pairs. The pairs never change
    /// once made, so what `drop` takes back is what `new` counted.
    fn bytes(&self) -> u64 {
        let pairs = self.latency.capacity() + self.service.capacity();
        (std::mem::size_of::<Self>() + pairs * std::mem::size_of::<(u64, u64)>()) as u64
    }
}

impl Drop for IntervalPart {
    fn drop(&mut self) {
        SERIES_BYTES.fetch_sub(self.bytes(), Ordering::Relaxed);
    }
}

/// Nanoseconds, clamped to what histograms track.
pub(crate) fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TRACKABLE_NS)
}

/// One worker's measurements.
pub(crate) struct Recorder {
    origin: Instant,
    interval: Duration,
    index: u64,
    next_rotation: Instant,
    latency: Histogram<u64>,
    service: Option<Histogram<u64>>,
    latency_total: Histogram<u64>,
    service_total: Option<Histogram<u64>>,
    intervals: Vec<IntervalPart>,
    /// Completed requests in the window (errors included).
    pub(crate) requests: u64,
    errors: BTreeMap<ErrorKind, u64>,
    /// The first answer's body of each HTTP error status in the window.
    examples: BTreeMap<ErrorKind, String>,
    /// Open loop: sent in the window.
    pub(crate) sent: u64,
    /// Open loop: sent late.
    pub(crate) late: u64,
    /// Open loop: late because every connection was busy.
    pub(crate) late_waiting: u64,
    /// Open loop: due in the window, never sent.
    pub(crate) missed: u64,
    /// Open loop: largest send lag.
    pub(crate) max_lag: Duration,
    /// Open loop: the intended start of the first request refused by the cap.
    pub(crate) cap_reached_at: Option<Instant>,
    /// Lower bounds recorded in `latency` (timeouts, unsent requests).
    censored: u64,
    /// The smallest of them, ns (`u64::MAX`: none).
    censored_min: u64,
}

impl Recorder {
    /// `with_service`: keep a second histogram of service times (open loop).
    pub(crate) fn new(origin: Instant, interval: Duration, with_service: bool) -> Self {
        Self {
            origin,
            interval,
            index: 0,
            next_rotation: origin.checked_add(interval).unwrap_or(origin),
            latency: new_histogram(),
            service: with_service.then(new_histogram),
            latency_total: new_histogram(),
            service_total: with_service.then(new_histogram),
            intervals: Vec::new(),
            requests: 0,
            errors: BTreeMap::new(),
            examples: BTreeMap::new(),
            sent: 0,
            late: 0,
            late_waiting: 0,
            missed: 0,
            max_lag: Duration::ZERO,
            cap_reached_at: None,
            censored: 0,
            censored_min: u64::MAX,
        }
    }

    /// A successful request that completed at `end`.
    #[inline]
    pub(crate) fn success(&mut self, end: Instant, latency: Duration, service: Duration) {
        if end >= self.next_rotation {
            self.rotate(end);
        }
        self.requests += 1;
        let _ = self.latency.record(ns(latency));
        if let Some(h) = &mut self.service {
            let _ = h.record(ns(service));
        }
    }

    /// A failed request.
    pub(crate) fn error(&mut self, kind: ErrorKind) {
        self.requests += 1;
        *self.errors.entry(kind).or_default() += 1;
    }

    /// A request answered with an HTTP error status, with the start of its
    /// body: the first one of each status is kept as its example.
    pub(crate) fn http_error(&mut self, status: u16, body: &[u8]) {
        let kind = ErrorKind::Status(status);
        self.error(kind);
        self.examples
            .entry(kind)
            .or_insert_with(|| String::from_utf8_lossy(body).into_owned());
    }

    /// A request given up at `end`, `waited` after its intended start: a
    /// timeout error, and a lower bound of its latency.
    pub(crate) fn timed_out(&mut self, end: Instant, waited: Duration) {
        self.error(ErrorKind::Timeout);
        self.censored(end, waited);
    }

    /// A lower bound of a request's latency, known at `at`: into the latency
    /// histograms (not service time, which it never had).
    #[cold]
    pub(crate) fn censored(&mut self, at: Instant, at_least: Duration) {
        if at >= self.next_rotation {
            self.rotate(at);
        }
        let value = ns(at_least);
        let _ = self.latency.record(value);
        self.censored += 1;
        self.censored_min = self.censored_min.min(value);
    }

    #[cold]
    fn rotate(&mut self, end: Instant) {
        self.flush();
        let step = self.interval.as_nanos().max(1);
        let index = end.saturating_duration_since(self.origin).as_nanos() / step;
        self.index = u64::try_from(index).unwrap_or(u64::MAX);
        self.next_rotation = u32::try_from(index + 1)
            .ok()
            .and_then(|n| self.interval.checked_mul(n))
            .and_then(|d| self.origin.checked_add(d))
            .unwrap_or(end + Duration::from_secs(3600 * 24 * 365));
    }

    fn flush(&mut self) {
        if self.latency.is_empty() {
            return;
        }
        self.latency_total
            .add(&self.latency)
            .expect("auto-resizing histogram");
        let latency = sparse(&self.latency);
        self.latency.reset();
        let mut service = Vec::new();
        if let (Some(h), Some(total)) = (&mut self.service, &mut self.service_total) {
            service = sparse(h);
            total.add(&*h).expect("auto-resizing histogram");
            h.reset();
        }
        let part = IntervalPart::new(self.index, latency, service);
        self.intervals.push(part);
    }

    pub(crate) fn finish(mut self) -> Self {
        self.flush();
        self
    }
}

/// Merges the workers' recorders into a report.
pub(crate) fn assemble(parts: RunParts, spec: &LoadSpec) -> LoadReport {
    let window = parts.window;
    let open = !matches!(spec.mode, Mode::Closed);
    let mut errors: BTreeMap<ErrorKind, u64> = BTreeMap::new();
    let mut examples: BTreeMap<ErrorKind, String> = BTreeMap::new();
    let mut latency = new_histogram();
    let mut service = open.then(new_histogram);
    let mut intervals: BTreeMap<u64, (Histogram<u64>, Option<Histogram<u64>>)> = BTreeMap::new();
    let (mut requests, mut sent, mut late, mut late_waiting, mut missed) = (0, 0, 0, 0, parts.missed);
    let mut max_lag = Duration::ZERO;
    let mut cap_reached_at: Option<Instant> = None;
    let mut censored = parts.missed_censored.len();
    let mut censored_min = if parts.missed_censored.is_empty() {
        u64::MAX
    } else {
        parts.missed_censored.min()
    };
    for w in parts.workers {
        censored += w.censored;
        censored_min = censored_min.min(w.censored_min);
        requests += w.requests;
        sent += w.sent;
        late += w.late;
        late_waiting += w.late_waiting;
        missed += w.missed;
        max_lag = max_lag.max(w.max_lag);
        cap_reached_at = match (cap_reached_at, w.cap_reached_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for (kind, n) in w.errors {
            *errors.entry(kind).or_default() += n;
        }
        for (kind, body) in w.examples {
            examples.entry(kind).or_insert(body);
        }
        latency.add(&w.latency_total).expect("auto-resizing histogram");
        if let (Some(total), Some(h)) = (&mut service, &w.service_total) {
            total.add(h).expect("auto-resizing histogram");
        }
        for part in w.intervals {
            let (l, s) = intervals
                .entry(part.index)
                .or_insert_with(|| (new_histogram(), open.then(new_histogram)));
            add_sparse(l, &part.latency);
            if let Some(s) = s {
                add_sparse(s, &part.service);
            }
        }
    }
    // Sends never made are known at the window's end: its last interval.
    if !parts.missed_censored.is_empty() {
        latency
            .add(&parts.missed_censored)
            .expect("auto-resizing histogram");
        let last = window
            .deadline
            .saturating_duration_since(window.measure_from)
            .saturating_sub(Duration::from_nanos(1))
            .as_nanos()
            / spec.interval.as_nanos().max(1);
        let (l, _) = intervals
            .entry(u64::try_from(last).unwrap_or(u64::MAX))
            .or_insert_with(|| (new_histogram(), open.then(new_histogram)));
        l.add(&parts.missed_censored).expect("auto-resizing histogram");
    }
    // The window ends at the deadline, or where the request cap stopped it:
    // at the first intended start refused (open loop), or when the last
    // worker finished (closed loop).
    let end = match (open, cap_reached_at) {
        (true, Some(at)) => at.min(window.deadline),
        (true, None) => window.deadline,
        (false, _) => parts.finished.min(window.deadline),
    };
    let elapsed = end.saturating_duration_since(window.measure_from);
    let window_start = SystemTime::now()
        .checked_sub(window.measure_from.elapsed())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let schedule = match spec.mode {
        Mode::Closed => None,
        Mode::Open { rate, arrival, seed } => Some(ScheduleReport {
            rate,
            arrival,
            intended: sent + missed,
            sent,
            late,
            late_waiting_for_connection: late_waiting,
            missed,
            max_send_lag: max_lag,
            late_threshold: spec.late_threshold,
            seed,
        }),
    };
    let intervals = intervals
        .into_iter()
        .map(|(index, (latency, service))| {
            let start = u32::try_from(index)
                .ok()
                .and_then(|i| spec.interval.checked_mul(i))
                .unwrap_or(Duration::MAX);
            IntervalHistograms {
                start,
                length: spec.interval,
                latency,
                service,
            }
        })
        .collect();
    let measured: Vec<ThreadCpu> = parts.cpu.iter().flatten().copied().collect();
    let all_measured = !parts.cpu.is_empty() && measured.len() == parts.cpu.len();
    let generator = GeneratorReport {
        threads: parts.cpu.len(),
        cpu: all_measured.then(|| measured.iter().map(|t| t.cpu).sum()),
        busiest_thread_cpu_fraction: all_measured.then(|| {
            measured
                .iter()
                .map(|t| t.cpu.as_secs_f64() / t.wall.as_secs_f64().max(1e-9))
                .fold(0.0, f64::max)
        }),
        most_waiting_thread_fraction: all_measured.then(|| {
            measured
                .iter()
                .map(|t| t.waited.as_secs_f64() / t.wall.as_secs_f64().max(1e-9))
                .fold(0.0, f64::max)
        }),
        machine_busy_fraction: None,
        late_with_connection_free: if open { late - late_waiting } else { 0 },
        sent: if open { sent } else { 0 },
    };
    LoadReport {
        mode: spec.mode,
        censored,
        censored_min_ns: (censored > 0).then_some(censored_min),
        generator,
        requests,
        errors: errors.into_iter().map(|(k, n)| (k.to_string(), n)).collect(),
        error_examples: examples.into_iter().map(|(k, b)| (k.to_string(), b)).collect(),
        elapsed,
        latency,
        service,
        schedule,
        intervals,
        window_start,
    }
}

/// What the loops hand to [`assemble`].
pub(crate) struct RunParts {
    pub(crate) workers: Vec<Recorder>,
    /// Missed sends counted after the workers stopped (open loop).
    pub(crate) missed: u64,
    /// Their latencies so far: from the intended start to the window's end.
    pub(crate) missed_censored: Histogram<u64>,
    /// Per load thread, its CPU.
    pub(crate) cpu: Vec<Option<ThreadCpu>>,
    /// When the last worker stopped.
    pub(crate) finished: Instant,
    /// The run's clock.
    pub(crate) window: Window,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_split_by_completion_time_and_sum_to_the_totals() {
        let origin = Instant::now();
        let mut rec = Recorder::new(origin, Duration::from_secs(1), true);
        let at = |ms: u64| origin + Duration::from_millis(ms);
        for (end, latency_us) in [(10, 100), (999, 200), (1000, 300), (1500, 400), (3200, 500)] {
            let latency = Duration::from_micros(latency_us);
            rec.success(at(end), latency * 2, latency);
        }
        rec.error(ErrorKind::Status(503));
        rec.error(ErrorKind::Status(503));
        rec.error(ErrorKind::ConnectionClosed);
        let rec = rec.finish();
        let indices: Vec<u64> = rec.intervals.iter().map(|p| p.index).collect();
        assert_eq!(indices, [0, 1, 3]);
        assert_eq!(rec.intervals[0].latency.iter().map(|(_, n)| n).sum::<u64>(), 2);
        assert_eq!(rec.latency_total.len(), 5);
        assert_eq!(rec.service_total.as_ref().unwrap().len(), 5);
        assert_eq!(rec.requests, 8);
        let mut merged = new_histogram();
        for part in &rec.intervals {
            add_sparse(&mut merged, &part.service);
        }
        assert_eq!(merged, *rec.service_total.as_ref().unwrap());
        let labels: Vec<String> = rec.errors.keys().map(ToString::to_string).collect();
        assert_eq!(labels, ["connection-closed", "http-503"]);
    }

    #[test]
    fn finished_intervals_count_the_bytes_they_hold() {
        let origin = Instant::now();
        let mut rec = Recorder::new(origin, Duration::from_secs(1), true);
        for i in 0..3_000u64 {
            let latency = Duration::from_micros(100 + i);
            rec.success(origin + Duration::from_millis(i), latency * 2, latency);
        }
        let rec = rec.finish();
        assert_eq!(rec.intervals.len(), 3);
        let pair = std::mem::size_of::<(u64, u64)>() as u64;
        let mut held = 0;
        for part in &rec.intervals {
            // No slack from collecting: a pair per recorded bucket.
            assert_eq!(part.latency.capacity(), part.latency.len());
            assert_eq!(part.service.capacity(), part.service.len());
            assert!(part.latency.len() > 100, "{} buckets", part.latency.len());
            let pairs = (part.latency.len() + part.service.len()) as u64;
            assert!(part.bytes() >= pairs * pair);
            held += part.bytes();
        }
        // Other tests' recorders may hold bytes too, never fewer.
        assert!(series_bytes() >= held, "{} < {held}", series_bytes());
    }

    #[test]
    fn values_are_clamped_to_what_histograms_track() {
        assert_eq!(ns(Duration::ZERO), 1);
        assert_eq!(ns(Duration::from_secs(7200)), MAX_TRACKABLE_NS);
        assert_eq!(ns(Duration::from_micros(5)), 5_000);
    }
}
