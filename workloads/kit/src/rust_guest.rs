//! Rust guests: one cargo workspace in `workloads/rust/`, built for
//! `wasm32-wasip1`, and for `wasm32-wasip2` as `wasi:http` components.
//!
//! Each workload crate is an rlib (so native callers can link its `handle`);
//! the module is made with `cargo rustc --crate-type cdylib`, one workload at
//! a time, because asking cargo for both crate types at once makes rustc skip
//! LTO (and a plain `cargo build` makes no `.wasm` at all). The flavour is a
//! cargo feature of the guest library (none is `embedded`); callers give each
//! flavour its own target folder so that switching features never
//! invalidates another flavour's build.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The cargo feature of the guest library that selects a flavour
/// (`embedded`, `http`, `middleware`, `command`); `None` for `embedded`, the
/// default build.
pub fn rust_feature(flavour: &str) -> Option<&str> {
    (flavour != "embedded").then_some(flavour)
}

/// The Rust target a flavour's modules are built for: `wasm32-wasip2` for
/// the `component` flavour (a WASI 0.2 component), `wasm32-wasip1` for the
/// core modules of every other.
pub fn rust_target(feature: Option<&str>) -> &'static str {
    if feature == Some("component") {
        "wasm32-wasip2"
    } else {
        "wasm32-wasip1"
    }
}

/// `cargo <subcommand> --release --target <target>` of the workspace at
/// `manifest` into `target_dir`, with the `cargo` that runs this process
/// (`$CARGO`) when there is one. The host build's flags and target folder are
/// removed from its environment: that workspace's own profile decides.
pub fn cargo_for(subcommand: &str, target: &str, manifest: &Path, target_dir: &Path) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([subcommand, "--release", "--target", target, "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    command
}

/// Builds workload `workload` of the Rust guest workspace at `manifest`
/// (`workloads/rust/Cargo.toml`) with `cargo rustc --release --target
/// <target> --crate-type cdylib -p <workload> [--features <feature>]`
/// into `target_dir`, and returns the module's path,
/// `<target_dir>/<target>/release/<workload>.wasm`; the target is
/// [`rust_target`]'s (on `wasm32-wasip2` rustc's linker makes the cdylib a
/// component).
///
/// Cargo runs as [`cargo_for`] says.
///
/// # Errors
/// Cargo cannot be started, the target is not installed (the message gives
/// the `rustup` command), or the build fails (with cargo's output).
pub fn build_rust_guest(
    manifest: &Path,
    target_dir: &Path,
    workload: &str,
    feature: Option<&str>,
) -> Result<PathBuf> {
    let target = rust_target(feature);
    let mut command = cargo_for("rustc", target, manifest, target_dir);
    command.args(["--crate-type", "cdylib", "-p", workload]);
    if let Some(feature) = feature {
        command.args(["--features", feature]);
    }
    let output = command
        .output()
        .with_context(|| format!("running cargo to build the Rust guest `{workload}`"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains(target) && stderr.contains("target may not be installed") {
            bail!("the Rust {target} target is missing: run `rustup target add {target}`");
        }
        bail!(
            "cargo failed building the Rust guest `{workload}` ({}):\n{stderr}",
            feature.unwrap_or("embedded")
        );
    }
    // Cargo names a library after its crate with `-` turned into `_`.
    let module = target_dir.join(format!("{target}/release/{}.wasm", workload.replace('-', "_")));
    if !module.is_file() {
        bail!(
            "cargo built the Rust guest `{workload}` but {} is missing",
            module.display()
        );
    }
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_is_the_default_build() {
        assert_eq!(rust_feature("embedded"), None);
        assert_eq!(rust_feature("command"), Some("command"));
    }

    #[test]
    fn only_components_are_built_for_wasip2() {
        assert_eq!(rust_target(Some("component")), "wasm32-wasip2");
        assert_eq!(rust_target(Some("http")), "wasm32-wasip1");
        assert_eq!(rust_target(None), "wasm32-wasip1");
    }

    #[test]
    fn builds_a_module_into_an_empty_target_folder() {
        let target = std::env::temp_dir().join(format!("blueprint-kit-test-{}", std::process::id()));
        let manifest = crate::checkout_dir().join("workloads/rust/Cargo.toml");
        let module = build_rust_guest(&manifest, &target, "noop", None).expect("build noop");
        let bytes = std::fs::read(&module).expect("read module");
        std::fs::remove_dir_all(&target).ok();
        assert_eq!(&bytes[..4], b"\0asm", "{}", module.display());
    }

    #[test]
    fn an_unknown_workload_fails_with_cargo_output() {
        let target = std::env::temp_dir().join(format!("blueprint-kit-none-{}", std::process::id()));
        let manifest = crate::checkout_dir().join("workloads/rust/Cargo.toml");
        let err = build_rust_guest(&manifest, &target, "no-such-workload", None).unwrap_err();
        std::fs::remove_dir_all(&target).ok();
        assert!(err.to_string().contains("no-such-workload"), "{err:#}");
    }
}
