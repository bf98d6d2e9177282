//! The shared guest suite (`blueprint_runtime_api::testing::guests`) on
//! WasmEdge, and what the adapter reports about itself.
//!
//! Built only with the `wasmedge` feature.

#![cfg(feature = "wasmedge")]

use blueprint_runtime_api::{Limits, Runtime, RuntimeConfig};
use blueprint_runtime_wasmedge::{
    ENGINE, NAME, REQUIRED_WASMEDGE, WasmEdgeRuntime, availability, create, version,
};

fn runtime(limits: Limits) -> Box<dyn Runtime> {
    Box::new(
        WasmEdgeRuntime::new(&RuntimeConfig {
            limits,
            ..Default::default()
        })
        .expect("runtime"),
    )
}

blueprint_runtime_api::guest_suite!(runtime);

#[test]
fn info_names_runtime_version_and_engine() {
    assert_eq!(availability(), Ok(()));
    let info = runtime(Limits::default()).info();
    assert_eq!(info.name, NAME);
    assert_eq!(info.version, REQUIRED_WASMEDGE);
    assert_eq!(Some(info.version.clone()), version());
    assert_eq!(info.engine, "interpreter");
    assert_eq!(info.engine, ENGINE);
    // The feature-independent constructor gives the same runtime.
    assert_eq!(create(&RuntimeConfig::default()).expect("create").info(), info);
}
