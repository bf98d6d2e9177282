//! Resident memory per live guest instance, per runtime and guest language:
//! `blueprint-bench instance-rss` (`harness/src/instance_rss.rs`) in a fresh
//! process per measurement, so one runtime's allocations never count
//! against another's; the wazero host measures itself the same way in Go.
//!
//! `cargo bench --bench instance_rss` prints one row per runtime × language:
//! the median of `TRIALS` processes of the growth per instance, with the
//! baseline (module compiled, one instance used) of the median trial.
//! Rust guests: 100 live instances; Go guests: 20 (each is megabytes).

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
    let guests = catalog.of_flavour(workloads::Flavour::Embedded);
    // Copies in a folder of this run's own: the guest build folders are
    // rebuilt in place by other runs.
    let copies = tempfile::tempdir().expect("temp dir");
    let guests: std::collections::BTreeMap<_, _> = guests
        .into_iter()
        .map(|((language, workload), path)| {
            let copy = copies.path().join(format!("{language}-{workload}.wasm"));
            std::fs::copy(&path, &copy).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            ((language, workload), copy)
        })
        .collect();
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
            let mut trials: Vec<InstanceRss> = (0..TRIALS)
                .map(|_| {
                    let out = Command::new(env!("CARGO_BIN_EXE_blueprint-bench"))
                        .args(["instance-rss", "--runtime", entry.name, "--instances"])
                        .arg(instances.to_string())
                        .arg("--module")
                        .arg(module)
                        .output()
                        .expect("running blueprint-bench instance-rss");
                    assert!(
                        out.status.success(),
                        "{} {language}: {}",
                        entry.name,
                        String::from_utf8_lossy(&out.stderr)
                    );
                    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                        panic!("{}: {e}: {}", entry.name, String::from_utf8_lossy(&out.stdout))
                    })
                })
                .collect();
            trials.sort_by(|a, b| a.per_instance_kib.total_cmp(&b.per_instance_kib));
            let median = &trials[TRIALS / 2];
            println!(
                "{:<18} {:<6} {:>9} {:>13.1} {:>15.1}   (trials: {})",
                entry.name,
                language,
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
    }
}
