//! `build` and `list --json` show every workload × language × flavour with
//! its status and module size; what a language cannot build says why.

mod common;

use std::process::Command;

fn json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(common::bin()).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn row<'a>(
    rows: &'a [serde_json::Value],
    workload: &str,
    language: &str,
    flavour: &str,
) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["workload"] == workload && r["language"] == language && r["flavour"] == flavour)
        .unwrap_or_else(|| panic!("no row {workload}/{language}/{flavour}"))
}

#[test]
fn build_then_list_report_every_module_with_its_size_or_reason() {
    let built = json(&["build", "--language", "rust", "--json"]);
    let rows = built.as_array().unwrap();
    let workloads =
        blueprint_bench::workloads::known_workloads(&blueprint_bench::paths::project_dir()).unwrap();
    assert_eq!(
        rows.len(),
        workloads.len() * blueprint_bench::workloads::FLAVOURS.len(),
        "one row per workload × flavour"
    );
    for workload in &workloads {
        let embedded = row(rows, workload, "rust", "embedded");
        assert_eq!(embedded["status"], "built", "{embedded}");
        assert!(embedded["size_bytes"].as_u64().unwrap() > 1000, "{embedded}");
    }
    // A stateful workload has no middleware flavour, and says so.
    let counter = row(rows, "counter", "rust", "middleware");
    assert_eq!(counter["status"], "n/a", "{counter}");
    assert!(counter["reason"].as_str().is_some_and(|r| !r.is_empty()));

    // Rust builds every workload as a wasi:http component too.
    let component = row(rows, "counter", "rust", "component");
    assert_eq!(component["status"], "built", "{component}");

    // `list` reads the same builds back from the cache, without building.
    let listing = json(&["list", "--json"]);
    let modules = listing["modules"].as_array().unwrap();
    let languages = listing["languages"].as_array().unwrap().len();
    assert_eq!(
        modules.len(),
        workloads.len() * languages * blueprint_bench::workloads::FLAVOURS.len()
    );
    assert_eq!(
        row(modules, "transform", "rust", "command")["size_bytes"],
        row(rows, "transform", "rust", "command")["size_bytes"]
    );
}
