//! A build without the `wasmedge` feature: the stub says why WasmEdge cannot
//! run and how to fix it, and the real tests are skipped (they compile to
//! nothing without the feature).

#![cfg(not(feature = "wasmedge"))]

use blueprint_runtime_api::{RuntimeConfig, RuntimeError};
use blueprint_runtime_wasmedge::{Mode, NAME, availability, create, version};

#[test]
fn a_build_without_the_feature_is_unavailable_with_reason_and_fix() {
    assert_eq!(availability(Mode::Aot), availability(Mode::Interpreter));
    let (reason, fix) = availability(Mode::Aot).expect_err("the stub is never available");
    eprintln!(
        "WasmEdge adapter tests skipped: this build has no `wasmedge` feature.\n  reason: {reason}\n  fix: {fix}"
    );
    assert!(!reason.trim().is_empty() && !fix.trim().is_empty());
    assert!(reason.contains("`wasmedge` feature"), "{reason}");
    assert!(fix.contains("--features wasmedge"), "{fix}");
    assert!(fix.contains("LD_LIBRARY_PATH="), "{fix}");
    assert_eq!(version(), None);
    assert_eq!((NAME, Mode::Aot.engine()), ("wasmedge", "aot"));
    assert_eq!(
        (Mode::Interpreter.runtime_name(), Mode::Interpreter.engine()),
        ("wasmedge-interp", "interpreter")
    );
    match create(&RuntimeConfig::default(), Mode::Aot) {
        Err(RuntimeError::Config(message)) => assert!(message.contains(&reason), "{message}"),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("the stub created a runtime"),
    }
}
