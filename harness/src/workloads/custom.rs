//! Custom workloads: modules a scenario brings itself (`[workloads.<name>]`),
//! run in the same cells, conformance and results as the built-in ones, under
//! the language [`CUSTOM_LANGUAGE`].
//!
//! A file is checked when the scenario is read, before anything is built or
//! started: it must exist, be a core Wasm module, and have the exports and
//! imports its flavour's host needs (`workloads/ABI.md`), because a wrong
//! module otherwise fails minutes later inside daprd with a far vaguer error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wasmparser::{Parser, Payload, TypeRef};

use super::{Flavour, VectorFile};

/// The language of every custom workload's cells: the scenario's `languages`
/// axis does not multiply them.
pub const CUSTOM_LANGUAGE: &str = "custom";

/// A scenario's own workload, checked.
#[derive(Debug, Clone)]
pub struct CustomWorkload {
    /// Its name in the matrix and the results.
    pub name: String,
    /// The module given for each flavour.
    pub modules: BTreeMap<Flavour, PathBuf>,
    /// Its golden vectors, when given.
    pub vectors: Option<VectorFile>,
    /// False when it needs Dapr (no middleware or binding cells).
    pub pure: bool,
}

/// A scenario's custom workloads by name.
pub type CustomWorkloads = BTreeMap<String, CustomWorkload>;

impl CustomWorkload {
    /// Why a mode needing `flavour` cannot run this workload: no module of
    /// that flavour was given.
    pub fn missing(&self, flavour: Flavour) -> Option<String> {
        (!self.modules.contains_key(&flavour)).then(|| missing_reason(&self.name, flavour))
    }
}

/// The reason a custom workload has no module of `flavour`.
pub fn missing_reason(workload: &str, flavour: Flavour) -> String {
    format!("no `{flavour}` module given for custom workload `{workload}`")
}

/// Whether `name` can be a workload's name: it becomes a URL path segment and
/// a Dapr component name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// What a module exports and imports.
#[derive(Debug, Default)]
struct Shape {
    exports: Vec<String>,
    /// `(module, name, is a function)`.
    imports: Vec<(String, String, bool)>,
}

const WASM_MAGIC: &[u8] = b"\0asm";
/// Version 1 of the binary format, as a core module encodes it (a component
/// has another layer word and cannot run in any of these hosts).
const CORE_VERSION: &[u8] = &[1, 0, 0, 0];

/// The version and layer words of a component (component-model binary format).
const COMPONENT_VERSION: &[u8] = &[0x0d, 0, 1, 0];

/// Whether `bytes` is a component; what it exports and imports is checked
/// when the host compiles it (`wasi:http/incoming-handler`, WASI 0.2).
fn check_component(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 8 || &bytes[..4] != WASM_MAGIC {
        return Err("not a WebAssembly component (no `\\0asm` magic number)".into());
    }
    if &bytes[4..8] != COMPONENT_VERSION {
        return Err(format!(
            "not a `component`: a wasi:http/proxy component is needed (version and layer bytes {:02x?}; a core module goes under `embedded` or `http`)",
            &bytes[4..8]
        ));
    }
    Ok(())
}

fn shape(bytes: &[u8]) -> Result<Shape, String> {
    if bytes.len() < 8 || &bytes[..4] != WASM_MAGIC {
        return Err("not a WebAssembly module (no `\\0asm` magic number)".into());
    }
    if &bytes[4..8] != CORE_VERSION {
        return Err(format!(
            "not a core WebAssembly module of version 1 (version bytes {:02x?}; a component cannot run here)",
            &bytes[4..8]
        ));
    }
    let mut shape = Shape::default();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| format!("malformed WebAssembly: {e}"))? {
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| format!("malformed export section: {e}"))?;
                    shape.exports.push(export.name.to_owned());
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| format!("malformed import section: {e}"))?;
                    let function = matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_));
                    shape
                        .imports
                        .push((import.module.to_owned(), import.name.to_owned(), function));
                }
            }
            _ => {}
        }
    }
    Ok(shape)
}

/// The import modules a flavour's host provides besides WASI preview 1.
fn host_modules(flavour: Flavour) -> &'static [&'static str] {
    match flavour {
        Flavour::Embedded => &["dapr"],
        Flavour::Http => &["http"],
        Flavour::Middleware => &["http_handler"],
        Flavour::Command | Flavour::Component => &[],
    }
}

/// The exports a flavour's host calls.
fn required_exports(flavour: Flavour) -> &'static [&'static str] {
    match flavour {
        Flavour::Embedded | Flavour::Http => &["memory", "bb_abi_version", "bb_alloc", "bb_handle"],
        Flavour::Middleware => &["memory", "handle_request", "handle_response"],
        Flavour::Command => &["memory", "_start"],
        Flavour::Component => &[],
    }
}

const WASI_P1: &str = "wasi_snapshot_preview1";

/// Checks that the file at `path` can be loaded as `flavour`.
///
/// # Errors
/// What is wrong, for a message that names the scenario's line.
pub fn check_module(path: &Path, flavour: Flavour) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if flavour == Flavour::Component {
        return check_component(&bytes).map_err(|e| format!("{}: {e}", path.display()));
    }
    let shape = shape(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let missing: Vec<&str> = required_exports(flavour)
        .iter()
        .copied()
        .filter(|name| !shape.exports.iter().any(|e| e == name))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{}: not a `{flavour}` module: it does not export {} (a `{flavour}` module exports {}; workloads/ABI.md)",
            path.display(),
            quoted(&missing),
            quoted(required_exports(flavour)),
        ));
    }
    let allowed = host_modules(flavour);
    let foreign: Vec<String> = shape
        .imports
        .iter()
        .filter(|(module, _, _)| module != WASI_P1 && !allowed.contains(&module.as_str()))
        .map(|(module, name, _)| format!("{module}.{name}"))
        .collect();
    if !foreign.is_empty() {
        let provided = std::iter::once(WASI_P1)
            .chain(allowed.iter().copied())
            .collect::<Vec<_>>();
        return Err(format!(
            "{}: not a `{flavour}` module: it imports {} which the `{flavour}` host does not provide (it provides the modules {})",
            path.display(),
            foreign.join(", "),
            quoted(&provided),
        ));
    }
    if flavour == Flavour::Middleware
        && !shape
            .imports
            .iter()
            .any(|(module, _, function)| *function && module == "http_handler")
    {
        return Err(format!(
            "{}: not a `middleware` module: an http-wasm guest imports its host functions from the module `http_handler`, and this one imports none",
            path.display()
        ));
    }
    Ok(())
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(dir: &Path, name: &str, wat: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
        path
    }

    #[test]
    fn each_flavour_needs_its_exports_and_its_host_s_imports() {
        let dir = tempfile::tempdir().unwrap();
        let command = module(
            dir.path(),
            "cmd.wasm",
            r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
                 (memory (export "memory") 1) (func (export "_start")))"#,
        );
        assert_eq!(check_module(&command, Flavour::Command), Ok(()));
        let err = check_module(&command, Flavour::Middleware).unwrap_err();
        assert!(
            err.contains("`handle_request`") && err.contains("`handle_response`"),
            "{err}"
        );
        let err = check_module(&command, Flavour::Embedded).unwrap_err();
        assert!(err.contains("`bb_handle`"), "{err}");

        let middleware = module(
            dir.path(),
            "mw.wasm",
            r#"(module (import "http_handler" "read_body" (func (param i32 i32 i32) (result i64)))
                 (memory (export "memory") 1)
                 (func (export "handle_request") (result i64) i64.const 1)
                 (func (export "handle_response") (param i32 i32)))"#,
        );
        assert_eq!(check_module(&middleware, Flavour::Middleware), Ok(()));
        let err = check_module(&middleware, Flavour::Command).unwrap_err();
        assert!(err.contains("`_start`"), "{err}");

        let stray = module(
            dir.path(),
            "stray.wasm",
            r#"(module (import "env" "f" (func)) (memory (export "memory") 1) (func (export "_start")))"#,
        );
        let err = check_module(&stray, Flavour::Command).unwrap_err();
        assert!(err.contains("env.f"), "{err}");
    }

    #[test]
    fn text_and_components_are_not_modules() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("x.wasm");
        std::fs::write(&text, "(module)").unwrap();
        assert!(
            check_module(&text, Flavour::Command)
                .unwrap_err()
                .contains("magic")
        );
        std::fs::write(&text, b"\0asm\x0d\0\x01\0").unwrap();
        assert!(
            check_module(&text, Flavour::Command)
                .unwrap_err()
                .contains("component")
        );
        let err = check_module(&dir.path().join("absent.wasm"), Flavour::Command).unwrap_err();
        assert!(
            err.contains("cannot read") && err.contains("absent.wasm"),
            "{err}"
        );
    }

    #[test]
    fn names_must_serve_as_paths_and_component_names() {
        assert!(valid_name("my-filter") && valid_name("f2"));
        assert!(!valid_name("My_Filter") && !valid_name("-x") && !valid_name("a/b") && !valid_name(""));
    }
}
