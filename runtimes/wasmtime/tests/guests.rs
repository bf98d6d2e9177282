//! The shared guest suite (`blueprint_runtime_api::testing::guests`) on
//! Wasmtime, and what it reports about itself.

use blueprint_runtime_api::{Limits, Runtime, RuntimeConfig};
use blueprint_runtime_wasmtime::{NAME, VERSION, WasmtimeRuntime};

fn runtime(limits: Limits) -> Box<dyn Runtime> {
    Box::new(
        WasmtimeRuntime::new(&RuntimeConfig {
            limits,
            ..Default::default()
        })
        .expect("runtime"),
    )
}

blueprint_runtime_api::guest_suite!(runtime);

#[test]
fn info_names_runtime_version_and_engine() {
    let info = runtime(Limits::default()).info();
    assert_eq!(info.name, NAME);
    assert_eq!(info.version, VERSION);
    assert!(info.version.starts_with("48."), "version {}", info.version);
    assert_eq!(info.engine, "cranelift+pooling");
}
