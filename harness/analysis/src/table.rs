//! The compact terminal table printed after a run.

use std::fmt::Write as _;

use crate::compare::fmt_rate;
use crate::results::{CellStatus, RunResults, cell_error_rate};
use crate::stats::fmt_level;

/// Renders one row per cell: identity, status, throughput, latency, errors.
pub fn render(results: &RunResults) -> String {
    let header = [
        "workload",
        "mode",
        "runtime",
        "lang",
        "store",
        "trigger",
        "status",
        "trials",
        "req/s",
        "± CI (level)",
        "p50 µs",
        "p99 µs",
        "CPU µs/req",
        "cold ms",
        "knee req/s",
        "errors",
        "error rate",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for cell in &results.cells {
        let id = &cell.id;
        let mut row = vec![
            id.workload.clone(),
            id.mode_label(),
            id.runtime.clone(),
            id.language.clone(),
            id.store.clone(),
            id.trigger.clone(),
        ];
        let status = match &cell.status {
            CellStatus::Ok => "ok".to_owned(),
            CellStatus::Failed { .. } => "FAILED".to_owned(),
            CellStatus::Unavailable { .. } => "unavailable".to_owned(),
            CellStatus::NotApplicable { .. } => "n/a".to_owned(),
            CellStatus::Pending => "pending".to_owned(),
            CellStatus::NotRun { .. } => "not run".to_owned(),
        };
        row.push(status);
        match &cell.summary {
            Some(sum) => {
                let rps = &sum.throughput_rps;
                row.push(rps.n.to_string());
                row.push(format!("{:.0}", rps.median));
                row.push(rps.interval().map_or("n/a".into(), |(lo, hi)| {
                    format!("±{:.0} ({})", (hi - lo) / 2.0, fmt_level(rps.confidence))
                }));
                // No successful request: no latency (a dash, never 0).
                row.push(sum.p50_us.map_or("—".into(), |e| format!("{:.0}", e.median)));
                row.push(sum.p99_us.map_or("—".into(), |e| format!("{:.0}", e.median)));
                row.push(
                    sum.cpu_per_request_us
                        .map_or("-".into(), |c| format!("{:.0}", c.median)),
                );
                row.push(format!("{:.0}", sum.cold_start_ms.median));
                row.push(sum.knee_rps.map_or("-".into(), |k| format!("{:.0}", k.median)));
                row.push(sum.errors.to_string());
                row.push(cell_error_rate(cell).map_or("—".into(), fmt_rate));
            }
            None => row.extend(std::iter::repeat_n("-".to_owned(), header.len() - 7)),
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (v, w))| {
                if c >= 7 {
                    format!("{v:>w$}")
                } else {
                    format!("{v:<w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        if i == 0 {
            let _ = writeln!(
                out,
                "{}",
                widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("  ")
            );
        }
    }
    // Cells that did not run share their reasons (one runtime, language or
    // mode): say each once.
    let mut unavailable: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut not_applicable: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for cell in &results.cells {
        match &cell.status {
            CellStatus::Failed { error } => {
                let _ = writeln!(out, "\n{}: FAILED: {error}", cell.id);
            }
            CellStatus::Unavailable { reason } => *unavailable.entry(reason).or_default() += 1,
            CellStatus::NotApplicable { reason } => *not_applicable.entry(reason).or_default() += 1,
            CellStatus::NotRun { reason } => {
                let _ = writeln!(out, "\n{}: not run: {reason}", cell.id);
            }
            CellStatus::Ok | CellStatus::Pending => {}
        }
    }
    for (reason, cells) in unavailable {
        let _ = writeln!(out, "\nunavailable ({cells} cells): {reason}");
    }
    for (reason, cells) in not_applicable {
        let _ = writeln!(out, "\nn/a ({cells} cells): {reason}");
    }
    if !results.completed {
        let _ = writeln!(
            out,
            "\nINCOMPLETE: the run did not reach its end; {} cell(s) unfinished",
            results.unfinished_cells().len()
        );
    }
    out
}
