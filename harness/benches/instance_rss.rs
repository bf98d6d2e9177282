//! Resident memory per live guest instance, per runtime and guest language:
//! `blueprint-bench instance-rss` (`harness/src/instance_rss.rs`) in a fresh
//! process per measurement, so one runtime's allocations never count
//! against another's; the wazero host measures itself the same way in Go.
//!
//! `cargo bench --bench instance_rss` prints one row per runtime × language:
//! the median of `TRIALS` processes of the growth per instance, with the
//! baseline (module compiled, one instance used) of the median trial.
//! Rust guests: 100 live instances; Go guests: 20 (each is megabytes). Then
//! the `wasi:http` components (`noop`) on our host's server: Rust 100,
//! JavaScript and Python 20.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use blueprint_bench::cli::instance_rss::InstanceRss;
use blueprint_bench::{paths, workloads};
use blueprint_host::table::{self as runtimes, Availability};

const TRIALS: usize = 3;

fn main() {
    // Under `cargo test --benches` there is nothing to time: say so and stop.
    if !std::env::args().any(|a| a == "--bench") {
        println!("instance_rss: run with `cargo bench --bench instance_rss`");
        return;
    }
    let catalog =
        workloads::build_all(&paths::project_dir(), &paths::cache_dir()).expect("building the guests");
    for (language, missing) in &catalog.unavailable {
        println!("{language}: skipped: {missing}");
    }
    // Copies in a folder of this run's own: the guest build folders are
    // rebuilt in place by other runs.
    let copies = tempfile::tempdir().expect("temp dir");
    let copy_all = |flavour: workloads::Flavour, suffix: &str| -> BTreeMap<(String, String), PathBuf> {
        catalog
            .of_flavour(flavour)
            .into_iter()
            .map(|((language, workload), path)| {
                let copy = copies.path().join(format!("{language}-{workload}{suffix}.wasm"));
                std::fs::copy(&path, &copy).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                ((language, workload), copy)
            })
            .collect()
    };
    let guests = copy_all(workloads::Flavour::Embedded, "");
    let components = copy_all(workloads::Flavour::Component, "-component");
    println!(
        "{:<18} {:<6} {:>9} {:>13} {:>15}",
        "runtime", "guest", "instances", "baseline MiB", "KiB / instance"
    );
    for entry in runtimes::entries() {
        if let Availability::Unavailable { reason, .. } = &entry.availability {
            println!("{:<18} skipped: {reason}", entry.name);
            continue;
        }
        for language in workloads::LANGUAGES {
            let Some(module) = guests.get(&((*language).to_owned(), "noop".to_owned())) else {
                continue;
            };
            let instances = if *language == "go" { 20 } else { 100 };
            row(entry.name, language, instances, module);
        }
    }
    // wasi:http components on our host's server (`wasmtime`; `wasmtime
    // serve` is a process of its own, whose RSS the runs record per cell).
    for ((language, workload), module) in &components {
        if workload == "noop" {
            // StarlingMonkey and CPython instances are megabytes each.
            let instances = if language == "rust" { 100 } else { 20 };
            row("wasmtime", &format!("{language} component"), instances, module);
        }
    }
}

/// Measures one runtime × module in `TRIALS` fresh processes and prints the
/// median's row.
fn row(runtime: &str, guest: &str, instances: u32, module: &Path) {
    let mut trials: Vec<InstanceRss> = (0..TRIALS)
        .map(|_| {
            let out = Command::new(env!("CARGO_BIN_EXE_blueprint-bench"))
                .args(["instance-rss", "--runtime", runtime, "--instances"])
                .arg(instances.to_string())
                .arg("--module")
                .arg(module)
                .output()
                .expect("running blueprint-bench instance-rss");
            assert!(
                out.status.success(),
                "{runtime} {guest}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{runtime}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
        })
        .collect();
    trials.sort_by(|a, b| a.per_instance_kib.total_cmp(&b.per_instance_kib));
    let median = &trials[TRIALS / 2];
    println!(
        "{:<18} {:<6} {:>9} {:>13.1} {:>15.1}   (trials: {})",
        runtime,
        guest,
        instances,
        median.rss_before_kib as f64 / 1024.0,
        median.per_instance_kib,
        trials
            .iter()
            .map(|t| format!("{:.1}", t.per_instance_kib))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
