//! Go guests: one module in `workloads/go/`, built with the standard Go
//! toolchain for `wasip1/wasm`. One source per workload, one build tag per
//! flavour (`workloads/go/README.md`):
//!
//! - `embedded` and `http` (tag `bb_http`): WASI reactors
//!   (`-buildmode=c-shared`, `go:wasmexport`);
//! - `middleware` (tag `bb_middleware`): a reactor exporting http-wasm's
//!   `handle_request`/`handle_response`, whose entry export is then renamed
//!   from `_initialize` to `_start` (`tools/startexport`), the only start
//!   function daprd's http-wasm host calls;
//! - `command` (tag `bb_command`): a plain WASI command.
//!
//! Middleware and command are built for pure workloads only (their vector
//! file says `"pure": true`): daprd runs those modules without Dapr access.

use std::path::Path;

use anyhow::Result;

use super::{BuiltModule, Flavour, Language, Missing, build_step};

/// The Go guest language.
#[derive(Debug)]
pub struct Go;

/// The build tag that selects a flavour's entry points.
fn tag(flavour: Flavour) -> Option<&'static str> {
    match flavour {
        Flavour::Embedded => None,
        Flavour::Http => Some("bb_http"),
        Flavour::Middleware => Some("bb_middleware"),
        Flavour::Command => Some("bb_command"),
        // `unsupported` keeps the build from asking.
        Flavour::Component => unreachable!("Go has no component flavour"),
    }
}

impl Language for Go {
    identity!("go", "Go");

    fn unsupported(&self) -> &'static [(Flavour, &'static str)] {
        &[(
            Flavour::Component,
            "not built: Go's own compiler makes WASIp1 modules only; a wasi:http component needs TinyGo's wasip2 target or wasm-tools with a preview-1 adapter, which this project does not install",
        )]
    }

    fn toolchain(&self, _cache: &Path) -> std::result::Result<(), Missing> {
        if crate::go_host::go_available() {
            Ok(())
        } else {
            Err(Missing {
                reason: "no Go toolchain (go 1.26+) on PATH".into(),
                install:
                    "https://go.dev/doc/install, or `apt-get install golang` where Debian's is new enough"
                        .into(),
            })
        }
    }

    fn build(&self, project: &Path, cache: &Path, out: &Path) -> Result<Vec<BuiltModule>> {
        let src = project.join("workloads/go");
        build_step::guests(self, project, out, "main.go", |workload, flavour, path| {
            go_build(cache, &src, workload, flavour, path)?;
            if flavour == Flavour::Middleware {
                start_export(cache, &src, path)?;
            }
            Ok(())
        })
    }
}

/// `go build` of one workload in one flavour.
fn go_build(cache: &Path, src: &Path, workload: &str, flavour: Flavour, path: &Path) -> Result<()> {
    let mut cmd = crate::go_host::go_command(cache, src);
    cmd.env("GOOS", "wasip1").env("GOARCH", "wasm").arg("build");
    if flavour != Flavour::Command {
        // Every flavour but the command exports its entry points (`go:wasmexport`).
        cmd.arg("-buildmode=c-shared");
    }
    if let Some(tag) = tag(flavour) {
        cmd.arg(format!("-tags={tag}"));
    }
    // Reproducible bytes: no VCS stamp, no checkout paths, no symbol names.
    cmd.args(["-trimpath", "-buildvcs=false", "-ldflags=-s", "-o"])
        .arg(path)
        .arg(format!("./{workload}"));
    build_step::run(&mut cmd, "go build").map(drop)
}

/// Renames the reactor's `_initialize` export to `_start` in place
/// (`workloads/go/tools/startexport` says why).
fn start_export(cache: &Path, src: &Path, path: &Path) -> Result<()> {
    // A native tool: whatever GOOS/GOARCH the caller's environment holds.
    let mut cmd = crate::go_host::go_command(cache, src);
    cmd.env_remove("GOOS")
        .env_remove("GOARCH")
        .args(["run", "./tools/startexport"])
        .arg(path);
    build_step::run(&mut cmd, "workloads/go/tools/startexport").map(drop)
}
