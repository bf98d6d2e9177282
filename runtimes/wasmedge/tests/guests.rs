//! The shared guest suite (`blueprint_runtime_api::testing::guests`) on
//! WasmEdge, and what the adapter reports about itself.
//!
//! Built only with the `wasmedge` feature.

#![cfg(feature = "wasmedge")]

use blueprint_runtime_api::{Limits, Runtime, RuntimeConfig};
use blueprint_runtime_wasmedge::{
    Mode, NAME, REQUIRED_WASMEDGE, WasmEdgeRuntime, availability, create, version,
};

fn runtime_in(mode: Mode, limits: Limits) -> Box<dyn Runtime> {
    Box::new(
        WasmEdgeRuntime::new(
            &RuntimeConfig {
                limits,
                ..Default::default()
            },
            mode,
        )
        .expect("runtime"),
    )
}

mod aot {
    use super::*;
    fn runtime(limits: Limits) -> Box<dyn Runtime> {
        runtime_in(Mode::Aot, limits)
    }
    blueprint_runtime_api::guest_suite!(runtime);
}

mod interpreter {
    use super::*;
    fn runtime(limits: Limits) -> Box<dyn Runtime> {
        runtime_in(Mode::Interpreter, limits)
    }
    blueprint_runtime_api::guest_suite!(runtime);
}

#[test]
fn info_names_runtime_version_and_engine() {
    for (mode, engine) in [(Mode::Aot, "aot"), (Mode::Interpreter, "interpreter")] {
        assert_eq!(availability(mode), Ok(()));
        let info = runtime_in(mode, Limits::default()).info();
        assert_eq!(info.name, NAME);
        assert_eq!(info.version, REQUIRED_WASMEDGE);
        assert_eq!(Some(info.version.clone()), version());
        assert_eq!(info.engine, engine);
        assert_eq!(info.engine, mode.engine());
        // The feature-independent constructor gives the same runtime.
        assert_eq!(
            create(&RuntimeConfig::default(), mode).expect("create").info(),
            info
        );
    }
}

#[test]
fn aot_compiles_once_into_the_cache_and_runs_the_compiled_code() {
    let cache = tempfile::tempdir().unwrap();
    let wasm = blueprint_runtime_api::testing::wasm(blueprint_runtime_api::testing::PROBE);
    let rt =
        WasmEdgeRuntime::with_cache(&RuntimeConfig::default(), Mode::Aot, cache.path()).expect("runtime");
    rt.compile(&wasm).expect("compile");
    let libraries = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        walk(dir)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "so"))
            .collect()
    };
    let first = libraries(cache.path());
    assert_eq!(first.len(), 1, "one shared library per module: {first:?}");
    let bytes = std::fs::read(&first[0]).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF", "a native shared library");
    let modified = std::fs::metadata(&first[0]).unwrap().modified().unwrap();
    rt.compile(&wasm).expect("compile again");
    assert_eq!(libraries(cache.path()), first, "compiled again instead of loaded");
    assert_eq!(
        std::fs::metadata(&first[0]).unwrap().modified().unwrap(),
        modified
    );
    // A library that is not one is an error, not a silent interpreter (a
    // new file: the old one may still be mapped).
    std::fs::remove_file(&first[0]).unwrap();
    std::fs::write(&first[0], b"\x7fELF not a library").unwrap();
    assert!(rt.compile(&wasm).is_err(), "a broken AOT library was accepted");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
