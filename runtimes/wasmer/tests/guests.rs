//! The shared guest suite (`blueprint_runtime_api::testing::guests`) on both
//! Wasmer backends, and what the adapter reports about itself.

use blueprint_runtime_api::{Limits, Runtime, RuntimeConfig};
use blueprint_runtime_wasmer::{Backend, NAME, VERSION, WasmerRuntime};

fn runtime(backend: Backend, limits: Limits) -> Box<dyn Runtime> {
    Box::new(
        WasmerRuntime::new(
            &RuntimeConfig {
                limits,
                ..Default::default()
            },
            backend,
        )
        .expect("runtime"),
    )
}

mod cranelift {
    blueprint_runtime_api::guest_suite!(|limits| super::runtime(super::Backend::Cranelift, limits));
}

mod singlepass {
    blueprint_runtime_api::guest_suite!(|limits| super::runtime(super::Backend::Singlepass, limits));
}

#[test]
fn info_names_runtime_version_and_backend() {
    for backend in Backend::ALL {
        let info = runtime(backend, Limits::default()).info();
        assert_eq!(info.name, NAME);
        assert_eq!(info.version, VERSION);
        assert!(info.version.starts_with("7."), "version {}", info.version);
        assert_eq!(info.engine, format!("{}, harness WASI subset", backend.label()));
        assert_eq!(Backend::from_label(&info.engine), Some(backend));
    }
}
