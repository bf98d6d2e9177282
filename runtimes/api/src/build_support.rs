//! For adapters' build scripts: the version of a runtime crate as Cargo
//! resolved it, so results name the runtime actually linked.

use std::path::Path;

/// Reads `Cargo.lock` at the workspace root (two levels above the adapter's
/// manifest) and sets `BLUEPRINT_LOCKED_VERSION` for the crate being built.
/// Prints `unknown` when the lock file is missing.
pub fn export_locked_version(package: &str) {
    export_locked_version_as(package, "BLUEPRINT_LOCKED_VERSION");
}

/// As [`export_locked_version`], into the environment variable `var`: for
/// an adapter that records a second crate's version.
pub fn export_locked_version_as(package: &str, var: &str) {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let lock = Path::new(&manifest).join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let version = locked_version(&text, package).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env={var}={version}");
}

/// The version of `package` in a `Cargo.lock` text (the first entry, which
/// for a runtime crate is the only one).
pub fn locked_version(lock: &str, package: &str) -> Option<String> {
    let wanted = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return Some(version.trim_end_matches('"').to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_named_package_only() {
        let lock = "[[package]]\nname = \"wasmtime-wasi\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"wasmtime\"\nversion = \"48.0.8\"\n";
        assert_eq!(super::locked_version(lock, "wasmtime").as_deref(), Some("48.0.8"));
        assert_eq!(super::locked_version(lock, "wasmer"), None);
    }
}
