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

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{BuiltModule, Flavour, Language, Missing};
use crate::progress;

/// The Go guest language.
#[derive(Debug)]
pub struct Go;

/// How one flavour is built: its build tag and whether it is a reactor.
struct Recipe {
    flavour: Flavour,
    tag: Option<&'static str>,
    reactor: bool,
    pure_only: bool,
}

const RECIPES: &[Recipe] = &[
    Recipe {
        flavour: Flavour::Embedded,
        tag: None,
        reactor: true,
        pure_only: false,
    },
    Recipe {
        flavour: Flavour::Http,
        tag: Some("bb_http"),
        reactor: true,
        pure_only: false,
    },
    Recipe {
        flavour: Flavour::Middleware,
        tag: Some("bb_middleware"),
        reactor: true,
        pure_only: true,
    },
    Recipe {
        flavour: Flavour::Command,
        tag: Some("bb_command"),
        reactor: false,
        pure_only: true,
    },
];

impl Language for Go {
    fn recipe(&self) -> &'static str {
        include_str!("go.rs")
    }

    fn name(&self) -> &'static str {
        "go"
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
        let workloads = super::workloads_with(project, "go", "main.go")?;
        let bar = progress::spinner("building Go guests for wasip1/wasm");
        let mut modules = Vec::new();
        for workload in workloads {
            let pure = super::load_vectors(project, &workload)?.pure;
            for recipe in RECIPES.iter().filter(|r| pure || !r.pure_only) {
                bar.set_message(format!("building Go guest {workload}.{}", recipe.flavour));
                let path = out.join(format!("{workload}.{}.wasm", recipe.flavour));
                let result = go_build(cache, &src, &workload, recipe, &path).and_then(|()| {
                    if recipe.flavour == Flavour::Middleware {
                        start_export(cache, &src, &path)
                    } else {
                        Ok(())
                    }
                });
                if let Err(e) = result {
                    bar.finish_and_clear();
                    return Err(e);
                }
                modules.push(BuiltModule {
                    workload: workload.clone(),
                    flavour: recipe.flavour,
                    path,
                });
            }
        }
        bar.finish_and_clear();
        Ok(modules)
    }
}

/// `go build` of one workload in one flavour.
fn go_build(cache: &Path, src: &Path, workload: &str, recipe: &Recipe, path: &PathBuf) -> Result<()> {
    let mut cmd = crate::go_host::go_command(cache, src);
    cmd.env("GOOS", "wasip1").env("GOARCH", "wasm").arg("build");
    if recipe.reactor {
        cmd.arg("-buildmode=c-shared");
    }
    if let Some(tag) = recipe.tag {
        cmd.arg(format!("-tags={tag}"));
    }
    // Reproducible bytes: no VCS stamp, no checkout paths, no symbol names.
    let output = cmd
        .args(["-trimpath", "-buildvcs=false", "-ldflags=-s", "-o"])
        .arg(path)
        .arg(format!("./{workload}"))
        .output()
        .with_context(|| format!("running go build for the Go guest {workload}.{}", recipe.flavour))?;
    if !output.status.success() {
        bail!(
            "go build of {workload}.{} failed:\n{}",
            recipe.flavour,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Renames the reactor's `_initialize` export to `_start` in place
/// (`workloads/go/tools/startexport` says why).
fn start_export(cache: &Path, src: &Path, path: &Path) -> Result<()> {
    // A native tool: whatever GOOS/GOARCH the caller's environment holds.
    let output = crate::go_host::go_command(cache, src)
        .env_remove("GOOS")
        .env_remove("GOARCH")
        .args(["run", "./tools/startexport"])
        .arg(path)
        .output()
        .context("running workloads/go/tools/startexport")?;
    if !output.status.success() {
        bail!(
            "renaming the entry export of {}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
