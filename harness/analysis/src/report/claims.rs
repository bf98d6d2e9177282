//! The talk's claims, judged on a results file: each claim as the talk puts
//! it, the cells that test it, their figures with intervals, the process
//! that explains the difference, and a verdict.
//!
//! A verdict comes from measured figures only. Two figures differ only when
//! their intervals do not overlap (with one trial there is no interval, so
//! nothing differs); a claim about size ("dramatically", "quite some") also
//! needs the ratio to reach [`LARGE`]. Each comparison gets its own verdict;
//! the claim holds or does not hold when every decisive comparison agrees,
//! "depends" (naming where it turns) when they disagree, is inconclusive
//! when none is decisive, and is "not measured", with the cells it needs,
//! when the file has none of them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::results::{self, CellResult, CellStatus, RunResults};
use crate::stats::{self, Estimate};

/// The ratio that counts as large: "dramatically" more throughput, "quite
/// some" overhead. Half as much again; stated in every verdict that uses it.
pub const LARGE: f64 = 1.5;

/// A claim's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every decisive comparison supports it.
    Holds,
    /// Every decisive comparison contradicts it.
    DoesNotHold,
    /// Decisive comparisons disagree: it holds for some workloads or
    /// runtimes and not for others.
    Depends,
    /// No comparison is decisive: the intervals overlap (or one trial).
    Inconclusive,
    /// The file has none of the cells that test it.
    NotMeasured,
}

impl Verdict {
    /// The verdict as a report shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Holds => "holds",
            Self::DoesNotHold => "does not hold",
            Self::Depends => "depends",
            Self::Inconclusive => "inconclusive",
            Self::NotMeasured => "not measured",
        }
    }
}

/// One comparison behind a claim.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// What was compared, e.g. "counter / rust / wasmtime".
    pub subject: String,
    /// The figures with intervals and the CPU split that explains them.
    pub figures: String,
    /// This comparison's verdict (never `Depends` or `NotMeasured`).
    pub verdict: Verdict,
}

/// A claim and what this file says of it.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    /// Short stable name.
    pub id: &'static str,
    /// The claim as the talk makes it.
    pub claim: &'static str,
    /// What is measured to test it.
    pub test: &'static str,
    /// The verdict over every comparison.
    pub verdict: Verdict,
    /// The verdict in a sentence: where it turns, or why not measured.
    pub summary: String,
    /// Each comparison.
    pub evidence: Vec<Evidence>,
}

/// Every claim, judged on `results`.
pub fn judge(results: &RunResults) -> Vec<Claim> {
    let cells: Vec<&CellResult> = results
        .cells
        .iter()
        .filter(|c| c.status == CellStatus::Ok && c.summary.is_some() && !c.trials.is_empty())
        .collect();
    vec![
        middleware_for_low_rates(&cells),
        standalone_for_high_rates(&cells),
        grpc_host_calls(&cells),
        caching(&cells),
        http_overhead(&cells),
        pubsub_streaming(&cells, &results.cells),
    ]
}

/// Everything but the mode and runtime: cells compared across modes share it.
type Group = (String, String, String, String, String);

fn group_of(c: &CellResult) -> Group {
    (
        c.id.workload.clone(),
        c.id.language.clone(),
        c.id.store.clone(),
        c.id.protocol.clone(),
        c.id.trigger.clone(),
    )
}

fn subject(g: &Group) -> String {
    format!("{} / {} / {}", g.0, g.1, g.2)
}

/// The cell of `mode` in `g` with the highest median throughput (its best
/// runtime), fresh instances.
fn best<'a>(cells: &[&'a CellResult], g: &Group, mode: &str) -> Option<&'a CellResult> {
    cells
        .iter()
        .copied()
        .filter(|c| c.id.mode == mode && c.id.instances == Default::default() && group_of(c) == *g)
        .max_by(|a, b| throughput(a).median.total_cmp(&throughput(b).median))
}

fn groups(cells: &[&CellResult], trigger: &str) -> BTreeSet<Group> {
    cells
        .iter()
        .filter(|c| c.id.trigger == trigger)
        .map(|c| group_of(c))
        .collect()
}

fn throughput(c: &CellResult) -> Estimate {
    c.summary
        .as_ref()
        .map(|s| s.throughput_rps)
        .unwrap_or_else(|| stats::estimate(&[0.0], 0.0))
}

/// An estimate over the trials of a per-trial figure; `None` without one.
fn over_trials(c: &CellResult, f: impl Fn(&results::TrialResult) -> Option<f64>) -> Option<Estimate> {
    let v: Vec<f64> = c.trials.iter().filter_map(f).collect();
    (!v.is_empty()).then(|| stats::estimate(&v, results::CONFIDENCE))
}

/// CPU µs per successful request of one process role over the trials.
fn role_cpu(c: &CellResult, role: &str) -> Option<Estimate> {
    over_trials(c, |t| super::decision::role_us(t, role))
}

/// Whether `a` is clearly above or below `b`: their intervals do not
/// overlap. `Err` says why not.
fn order(a: &Estimate, b: &Estimate) -> Result<Ordering, &'static str> {
    if a.interval().is_none() || b.interval().is_none() {
        Err("one trial: no interval")
    } else if super::decision::overlaps(a, b) {
        Err("the intervals overlap")
    } else {
        Ok(a.median.total_cmp(&b.median))
    }
}

fn show(e: &Estimate, unit: &str) -> String {
    format!("{}{unit}", e.display(0, 1.0))
}

/// Where a request's CPU goes, by process, medians (load generator left out).
fn split(c: &CellResult) -> String {
    let parts: Vec<String> = super::decision::cpu_split(c)
        .into_iter()
        .filter(|(r, _)| r != "load-generator")
        .map(|(r, v)| format!("{r} {v:.0}"))
        .collect();
    if parts.is_empty() {
        "no per-process CPU".into()
    } else {
        format!("CPU µs/req: {}", parts.join(", "))
    }
}

fn label(c: &CellResult) -> String {
    format!("{} on {}", c.id.mode_label(), c.id.runtime)
}

/// The claim's verdict from its comparisons.
fn conclude(
    id: &'static str,
    claim: &'static str,
    test: &'static str,
    needs: &str,
    evidence: Vec<Evidence>,
) -> Claim {
    let decisive: Vec<&Evidence> = evidence
        .iter()
        .filter(|e| matches!(e.verdict, Verdict::Holds | Verdict::DoesNotHold))
        .collect();
    let (verdict, summary) = if evidence.is_empty() {
        (Verdict::NotMeasured, format!("not measured: {needs}"))
    } else if decisive.is_empty() {
        (
            Verdict::Inconclusive,
            format!(
                "no comparison of {} is decisive: the machine's noise could explain the differences",
                evidence.len()
            ),
        )
    } else if decisive.iter().all(|e| e.verdict == decisive[0].verdict) {
        let v = decisive[0].verdict;
        (
            v,
            format!(
                "{} in {} of {} comparison(s){}",
                v.label(),
                decisive.len(),
                evidence.len(),
                if decisive.len() < evidence.len() {
                    "; the others are inconclusive"
                } else {
                    ""
                }
            ),
        )
    } else {
        (Verdict::Depends, turns(&decisive))
    };
    Claim {
        id,
        claim,
        test,
        verdict,
        summary,
        evidence,
    }
}

/// Where a claim turns: by workload when each workload's comparisons agree
/// (the usual case: "holds for noop, transform; does not hold for counter"),
/// else comparison by comparison.
fn turns(decisive: &[&Evidence]) -> String {
    let workload = |e: &Evidence| e.subject.split(" / ").next().unwrap_or_default().to_owned();
    let mut by_workload: BTreeMap<String, BTreeSet<Verdict>> = BTreeMap::new();
    for e in decisive {
        by_workload.entry(workload(e)).or_default().insert(e.verdict);
    }
    let unanimous = by_workload.values().all(|v| v.len() == 1);
    let which = |v: Verdict| -> String {
        if unanimous {
            by_workload
                .iter()
                .filter(|(_, vs)| vs.contains(&v))
                .map(|(w, _)| w.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            decisive
                .iter()
                .filter(|e| e.verdict == v)
                .map(|e| e.subject.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    format!(
        "holds for {}; does not hold for {}",
        which(Verdict::Holds),
        which(Verdict::DoesNotHold)
    )
}

fn middleware_for_low_rates(cells: &[&CellResult]) -> Claim {
    let mut evidence = Vec::new();
    for g in groups(cells, "dapr") {
        let (Some(m), Some(s)) = (best(cells, &g, "middleware"), best(cells, &g, "standalone-http")) else {
            continue;
        };
        let (tm, ts) = (throughput(m), throughput(s));
        let verdict = match order(&tm, &ts) {
            Ok(Ordering::Less) => Verdict::Holds,
            Ok(_) => Verdict::DoesNotHold,
            Err(_) => Verdict::Inconclusive,
        };
        evidence.push(Evidence {
            subject: subject(&g),
            figures: format!(
                "closed-loop throughput: {} {} ({}) against {} {} ({}){}",
                label(m),
                show(&tm, " req/s"),
                split(m),
                label(s),
                show(&ts, " req/s"),
                split(s),
                order(&tm, &ts)
                    .err()
                    .map_or(String::new(), |why| format!("; {why}"))
            ),
            verdict,
        });
    }
    conclude(
        "middleware-for-low-rates",
        "Wasm as HTTP middleware inside daprd (wazero) is for low and medium invocation rates.",
        "For each pure workload, the closed-loop throughput of `middleware` against the best \
         `standalone-http` runtime: holds when the middleware saturates clearly first (high rates \
         belong elsewhere), does not when it serves as much or more.",
        "needs a pure workload measured in `middleware` and `standalone-http`",
        evidence,
    )
}

fn standalone_for_high_rates(cells: &[&CellResult]) -> Claim {
    const OTHERS: [&str; 5] = [
        "embedded",
        "embedded+cache",
        "middleware",
        "middleware+httppipeline",
        "binding",
    ];
    let mut evidence = Vec::new();
    for g in groups(cells, "dapr") {
        let Some(s) = best(cells, &g, "standalone-http") else {
            continue;
        };
        let ts = throughput(s);
        let others: Vec<&CellResult> = OTHERS.iter().filter_map(|m| best(cells, &g, m)).collect();
        if others.is_empty() {
            continue;
        }
        let orders: Vec<(&CellResult, Result<Ordering, &str>)> =
            others.iter().map(|o| (*o, order(&ts, &throughput(o)))).collect();
        let beaten_by: Vec<String> = orders
            .iter()
            .filter(|(_, o)| *o == Ok(Ordering::Less))
            .map(|(c, _)| label(c))
            .collect();
        let verdict = if !beaten_by.is_empty() {
            Verdict::DoesNotHold
        } else if orders.iter().all(|(_, o)| *o == Ok(Ordering::Greater)) {
            Verdict::Holds
        } else {
            Verdict::Inconclusive
        };
        let rest: Vec<String> = others
            .iter()
            .map(|o| format!("{} {}", label(o), show(&throughput(o), " req/s")))
            .collect();
        evidence.push(Evidence {
            subject: subject(&g),
            figures: format!(
                "closed-loop throughput: {} {} ({}); {}{}",
                label(s),
                show(&ts, " req/s"),
                split(s),
                rest.join("; "),
                match (beaten_by.is_empty(), orders.iter().find_map(|(_, o)| o.err())) {
                    (false, _) => format!("; served clearly more: {}", beaten_by.join(", ")),
                    (true, Some(why)) => format!("; not clearly apart from every other: {why}"),
                    (true, None) => String::new(),
                }
            ),
            verdict,
        });
    }
    conclude(
        "standalone-for-high-rates",
        "A microservice on a standalone Wasm runtime is for high invocation rates.",
        "For each workload, the closed-loop throughput of the best `standalone-http` runtime against \
         the best of every other Wasm mode: holds when it is clearly the highest, does not when \
         another mode serves clearly more.",
        "needs a workload measured in `standalone-http` and at least one other Wasm mode",
        evidence,
    )
}

/// The verdict of a claim about size, "`a` is much more than `b`": holds
/// when `a` is clearly above `b` by [`LARGE`] or more; `small` says why not
/// when it is clearly above by less, `reversed` when it is clearly below.
fn size_verdict(a: &Estimate, b: &Estimate, small: &str, reversed: &str) -> (Verdict, String) {
    let ratio = a.median / b.median;
    match order(a, b) {
        Ok(Ordering::Greater) if ratio >= LARGE => (Verdict::Holds, format!("×{ratio:.2}")),
        Ok(Ordering::Greater) => (Verdict::DoesNotHold, format!("×{ratio:.2}: {small}")),
        Ok(_) => (Verdict::DoesNotHold, format!("×{ratio:.2}: {reversed}")),
        Err(why) => (Verdict::Inconclusive, format!("×{ratio:.2}; {why}")),
    }
}

/// Pairs of cells of two modes on the same runtime and group, for workloads
/// that use Dapr.
fn same_runtime_pairs<'a>(
    cells: &[&'a CellResult],
    a: &str,
    b: &str,
) -> Vec<(&'a CellResult, &'a CellResult)> {
    let mut out = Vec::new();
    for x in cells.iter().filter(|c| c.id.mode == a && c.id.trigger == "dapr") {
        if let Some(y) = cells.iter().find(|c| {
            c.id.mode == b
                && c.id.runtime == x.id.runtime
                && c.id.instances == x.id.instances
                && group_of(c) == group_of(x)
        }) {
            out.push((*x, *y));
        }
    }
    out
}

/// Whether daprd recorded state or pub/sub calls during the cell's trials
/// (its metrics): a pure workload makes none, so it cannot tell gRPC from
/// HTTP calls, or a cache from none.
fn uses_dapr(c: &CellResult) -> bool {
    c.trials.iter().any(|t| {
        t.dapr_metrics
            .keys()
            .any(|k| k.starts_with("dapr_component_state_count") || k.starts_with("dapr_component_pubsub"))
    })
}

fn grpc_host_calls(cells: &[&CellResult]) -> Claim {
    let mut evidence = Vec::new();
    for (e, s) in same_runtime_pairs(cells, "embedded", "standalone-http") {
        if !uses_dapr(e) {
            continue;
        }
        let (te, ts) = (throughput(e), throughput(s));
        let (verdict, how) = size_verdict(
            &te,
            &ts,
            &format!("clearly more, but not dramatically (×{LARGE} counts as dramatic)"),
            "the HTTP calls served clearly more",
        );
        evidence.push(Evidence {
            subject: format!("{} / {}", subject(&group_of(e)), e.id.runtime),
            figures: format!(
                "closed-loop throughput with gRPC host calls {} ({}) against HTTP calls {} ({}): {how}",
                show(&te, " req/s"),
                split(e),
                show(&ts, " req/s"),
                split(s)
            ),
            verdict,
        });
    }
    conclude(
        "grpc-host-calls",
        "Host function calls that map to gRPC increase the throughput dramatically (over the guest's HTTP calls to Dapr).",
        "For each workload that calls Dapr, `embedded` (host functions → Dapr gRPC) against \
         `standalone-http` (the guest's HTTP calls to daprd) on the same runtime: holds when the \
         closed-loop throughput is clearly higher by at least ×1.5.",
        "needs a workload that calls Dapr (e.g. `counter`) measured in `embedded` and `standalone-http` on one runtime",
        evidence,
    )
}

fn caching(cells: &[&CellResult]) -> Claim {
    let mut evidence = Vec::new();
    for (cached, plain) in same_runtime_pairs(cells, "embedded+cache", "embedded") {
        if !uses_dapr(cached) {
            continue;
        }
        let (Some(dc), Some(dp)) = (role_cpu(cached, "daprd"), role_cpu(plain, "daprd")) else {
            continue;
        };
        let hits = over_trials(cached, |t| t.cache_hit_ratio);
        let verdict = match order(&dc, &dp) {
            Ok(Ordering::Less) => Verdict::Holds,
            Ok(_) => Verdict::DoesNotHold,
            Err(_) => Verdict::Inconclusive,
        };
        evidence.push(Evidence {
            subject: format!("{} / {}", subject(&group_of(cached)), cached.id.runtime),
            figures: format!(
                "daprd CPU per request with the cache {} against without {}; cache hit ratio {}; \
                 throughput {} against {}{}",
                show(&dc, " µs"),
                show(&dp, " µs"),
                hits.map_or("not recorded".into(), |h| format!("{:.0} %", h.median * 100.0)),
                show(&throughput(cached), " req/s"),
                show(&throughput(plain), " req/s"),
                order(&dc, &dp)
                    .err()
                    .map_or(String::new(), |why| format!("; {why}"))
            ),
            verdict,
        });
    }
    conclude(
        "caching",
        "Local state and caching reduce the talks with Dapr.",
        "For each workload that calls Dapr, daprd's CPU per request in `embedded+cache` against \
         `embedded` on the same runtime (with the cache's hit ratio): holds when daprd works clearly less.",
        "needs a workload that calls Dapr measured in `embedded+cache` and `embedded` on one runtime",
        evidence,
    )
}

fn http_overhead(cells: &[&CellResult]) -> Claim {
    let mut evidence = Vec::new();
    for via in cells.iter().filter(|c| c.id.trigger == "dapr") {
        let Some(direct) = cells.iter().find(|c| {
            c.id.trigger == "direct"
                && c.id.mode == via.id.mode
                && c.id.runtime == via.id.runtime
                && c.id.workload == via.id.workload
                && c.id.language == via.id.language
                && c.id.store == via.id.store
                && c.id.instances == via.id.instances
        }) else {
            continue;
        };
        let (Some(cv), Some(cd)) = (
            over_trials(via, |t| t.cpu_per_request_us),
            over_trials(direct, |t| t.cpu_per_request_us),
        ) else {
            continue;
        };
        let (verdict, how) = size_verdict(
            &cv,
            &cd,
            &format!("an overhead, but under the ×{LARGE} counted as \"quite some\""),
            "no overhead to see",
        );
        evidence.push(Evidence {
            subject: format!(
                "{} / {} / {}",
                via.id.workload,
                via.id.mode_label(),
                via.id.runtime
            ),
            figures: format!(
                "CPU per request through daprd's HTTP {} ({}) against straight to the app {} ({}): {how}",
                show(&cv, " µs"),
                split(via),
                show(&cd, " µs"),
                split(direct)
            ),
            verdict,
        });
    }
    conclude(
        "http-overhead",
        "HTTP calls have quite some overhead.",
        "For each cell measured both through daprd (trigger `dapr`: load → daprd → app over HTTP) and \
         straight to the app (trigger `direct`), the system's CPU per request: holds when the hop \
         through daprd costs clearly ×1.5 or more.",
        "needs cells measured with both triggers, `dapr` and `direct`",
        evidence,
    )
}

/// The talk: "bindings and pub/sub can be used as triggers" and "event
/// streaming needs really high throughput". For each cell driven by
/// pub/sub events, its delivered events per second against the same cell's
/// requests per second through service invocation: holds when pub/sub
/// delivers clearly more. A pub/sub cell that lost events failed, and is
/// named.
fn pubsub_streaming(cells: &[&CellResult], all: &[CellResult]) -> Claim {
    let mut evidence = Vec::new();
    let is_pubsub = |c: &CellResult| {
        c.id.trigger
            .parse::<crate::modes::Trigger>()
            .is_ok_and(|t| t.is_pubsub())
    };
    // A cell published at a fixed rate delivers that rate at most: its
    // events/s say it kept up, not what pub/sub can carry.
    let as_fast_as_accepted = |c: &CellResult| {
        c.trials
            .iter()
            .filter_map(|t| t.pubsub.as_ref())
            .all(|p| p.rate.is_none())
    };
    for events in cells.iter().filter(|c| is_pubsub(c) && as_fast_as_accepted(c)) {
        let Some(invoked) = cells.iter().find(|c| {
            c.id.trigger == "dapr"
                && c.id.mode == events.id.mode
                && c.id.runtime == events.id.runtime
                && c.id.instances == events.id.instances
                && c.id.workload == events.id.workload
                && c.id.language == events.id.language
                && c.id.store == events.id.store
                && c.id.protocol == events.id.protocol
        }) else {
            continue;
        };
        let (te, ti) = (throughput(events), throughput(invoked));
        let verdict = match order(&te, &ti) {
            Ok(Ordering::Greater) => Verdict::Holds,
            Ok(_) => Verdict::DoesNotHold,
            Err(_) => Verdict::Inconclusive,
        };
        let p50 = |c: &CellResult| {
            over_trials(c, |t| t.load.latency_us.map(|l| l.p50)).map_or("-".into(), |e| show(&e, " µs"))
        };
        let delivery = events
            .trials
            .iter()
            .filter_map(|t| t.pubsub.as_ref())
            .fold((0u64, 0u64, 0u64), |(h, l, r), p| {
                (h + p.handled, l + p.lost, r + p.redeliveries)
            });
        let component = events
            .trials
            .iter()
            .find_map(|t| t.pubsub.as_ref())
            .map_or("pub/sub", |p| p.component.as_str());
        evidence.push(Evidence {
            subject: format!(
                "{} / {} / {} / {} / {} / {}",
                events.id.workload,
                events.id.mode_label(),
                events.id.runtime,
                events.id.store,
                events.id.protocol,
                events.id.trigger
            ),
            figures: format!(
                "{component}: {} delivered ({}; {} events handled, {} lost, {} redelivered; publish \
                 to handled p50 {}) against service invocation {} ({}; p50 {}){}",
                show(&te, " events/s"),
                split(events),
                delivery.0,
                delivery.1,
                delivery.2,
                p50(events),
                show(&ti, " req/s"),
                split(invoked),
                p50(invoked),
                order(&te, &ti)
                    .err()
                    .map_or(String::new(), |why| format!("; {why}"))
            ),
            verdict,
        });
    }
    let failed: Vec<String> = all
        .iter()
        .filter(|c| is_pubsub(c) && matches!(c.status, CellStatus::Failed { .. }))
        .map(|c| c.id.to_string())
        .collect();
    let needs = if failed.is_empty() {
        "needs cells with trigger `pubsub` (or `pubsub-bulk`), published as fast as daprd accepts \
         (no `[dapr] pubsub_rate`), and the same cells with trigger `dapr`"
            .to_owned()
    } else {
        format!(
            "needs cells with trigger `pubsub` (or `pubsub-bulk`), published as fast as daprd accepts \
             (no `[dapr] pubsub_rate`), and the same cells with trigger `dapr`; these pub/sub cells failed (lost events or errors): {}",
            failed.join(", ")
        )
    };
    conclude(
        "pubsub-streaming",
        "Pub/sub can trigger the Wasm, and event streaming needs really high throughput.",
        "For each cell driven by pub/sub events (published into daprd, delivered to the app, every \
         event counted by id), its delivered events per second against the same cell's requests \
         per second through service invocation: holds when pub/sub delivers clearly more.",
        &needs,
        evidence,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(median: f64, lo: f64, hi: f64) -> Estimate {
        let mut e = stats::estimate(&[lo, median, hi], 0.5);
        e.ci_low = Some(lo);
        e.ci_high = Some(hi);
        e
    }

    #[test]
    fn only_intervals_apart_differ() {
        assert_eq!(
            order(&est(10.0, 9.0, 11.0), &est(5.0, 4.0, 6.0)),
            Ok(Ordering::Greater)
        );
        assert_eq!(
            order(&est(5.0, 4.0, 6.0), &est(10.0, 9.0, 11.0)),
            Ok(Ordering::Less)
        );
        assert!(order(&est(10.0, 5.0, 11.0), &est(6.0, 4.0, 7.0)).is_err());
        let one = stats::estimate(&[10.0], results::CONFIDENCE);
        assert_eq!(order(&one, &est(1.0, 0.5, 1.5)), Err("one trial: no interval"));
    }

    #[test]
    fn a_claim_with_disagreeing_comparisons_depends_and_says_where() {
        let e = |s: &str, v| Evidence {
            subject: s.into(),
            figures: String::new(),
            verdict: v,
        };
        let c = conclude(
            "x",
            "x",
            "x",
            "x",
            vec![
                e("a", Verdict::Holds),
                e("b", Verdict::DoesNotHold),
                e("c", Verdict::Inconclusive),
            ],
        );
        assert_eq!(c.verdict, Verdict::Depends);
        assert_eq!(c.summary, "holds for a; does not hold for b");
        let c = conclude(
            "x",
            "x",
            "x",
            "x",
            vec![e("a", Verdict::Holds), e("c", Verdict::Inconclusive)],
        );
        assert_eq!(c.verdict, Verdict::Holds);
        let c = conclude("x", "x", "x", "the cells", Vec::new());
        assert_eq!(
            (c.verdict, c.summary.as_str()),
            (Verdict::NotMeasured, "not measured: the cells")
        );
    }
}
