//! The scenario loader on arbitrary text and on hostile edits of the
//! checked-in scenarios: a plan, or a `ScenarioError` that says where
//! (file and a line of the file), never a panic.

mod mutate;

use std::path::{Path, PathBuf};

use blueprint_bench::scenario::{self, ScenarioError};
use proptest::prelude::*;

struct Known {
    workloads: Vec<String>,
    runtimes: Vec<&'static str>,
}

fn known() -> &'static Known {
    static KNOWN: std::sync::OnceLock<Known> = std::sync::OnceLock::new();
    KNOWN.get_or_init(|| Known {
        workloads: blueprint_bench::workloads::known_workloads(&blueprint_bench::paths::project_dir())
            .expect("the checkout's workloads"),
        runtimes: blueprint_host::table::entries().iter().map(|e| e.name).collect(),
    })
}

/// Every scenario of the checkout, with its text.
fn scenarios() -> Vec<(PathBuf, String)> {
    let dir = blueprint_bench::paths::project_dir().join("scenarios");
    let mut found = Vec::new();
    for sub in [dir.clone(), dir.join("custom")] {
        for entry in std::fs::read_dir(&sub).expect("scenarios folder") {
            let path = entry.expect("scenario entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).expect("scenario text");
                found.push((path, text));
            }
        }
    }
    assert!(found.len() >= 4, "scenarios found: {found:?}");
    found
}

/// Parses `text` as if it were `path`; an error must be a located
/// `ScenarioError` with a message.
fn check(text: &str, path: &Path) -> Result<(), TestCaseError> {
    let k = known();
    let Err(err) = scenario::parse(text, path, &k.workloads, &k.runtimes) else {
        return Ok(());
    };
    let located = err.downcast_ref::<ScenarioError>();
    prop_assert!(located.is_some(), "not a located error: {err:#}");
    let located = located.unwrap();
    prop_assert_eq!(&located.path, &path.display().to_string());
    let lines = text.lines().count().max(1) + 1;
    prop_assert!(
        (1..=lines).contains(&located.line),
        "line {} of {lines}: {err}",
        located.line
    );
    prop_assert!(!located.message.trim().is_empty(), "no message: {err}");
    Ok(())
}

proptest! {
    #![proptest_config(mutate::config(512))]

    #[test]
    fn arbitrary_text_is_a_plan_or_a_located_error(text in "\\PC{0,400}") {
        check(&text, Path::new("scenarios/fuzz.toml"))?;
    }

    #[test]
    fn toml_shaped_text_is_a_plan_or_a_located_error(
        lines in prop::collection::vec(
            ("(scenario|matrix|load|dapr|inputs|workloads)(\\.[a-z]{1,8})?", "[a-z_]{1,16}", mutate::hostile_value()),
            0..12,
        )
    ) {
        let text: String = lines
            .iter()
            .map(|(table, key, value)| format!("[{table}]\n{key} = {value}\n"))
            .collect();
        check(&text, Path::new("scenarios/fuzz.toml"))?;
    }

    #[test]
    fn edited_scenarios_are_plans_or_located_errors(
        (path, text) in prop::sample::select(scenarios()).prop_flat_map(|(path, text)| {
            (Just(path), mutate::mutated(&text))
        })
    ) {
        check(&text, &path)?;
    }
}

/// Every shipped scenario is a plan. The custom example names a module the
/// user builds first (README, "Your own workload"); until it is built the
/// scenario must be refused with its file, line and field, and
/// `custom_workloads.rs` checks it as a plan with the module built.
#[test]
fn the_unedited_scenarios_are_plans() {
    let k = known();
    for (path, text) in scenarios() {
        let parsed = scenario::parse(&text, &path, &k.workloads, &k.runtimes);
        let user_built = path.parent().is_some_and(|dir| dir.ends_with("custom"))
            && !path.with_file_name("upper-filter.wasm").exists();
        match parsed {
            Ok(_) => {}
            Err(err) if user_built => {
                let located = err.downcast_ref::<ScenarioError>();
                let message = format!("{err:#}");
                assert!(located.is_some(), "not a located error: {message}");
                assert!(message.contains("workloads.upper.middleware"), "{message}");
                assert!(message.contains("upper-filter.wasm"), "{message}");
            }
            Err(err) => panic!("{err:#}"),
        }
    }
}
