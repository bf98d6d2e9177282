//! Go guests: one module in `workloads/go/`, built with the standard Go
//! toolchain for `wasip1/wasm` as WASI reactors (`-buildmode=c-shared`,
//! `go:wasmexport`).

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{BuiltModule, Flavour, Language, Missing};
use crate::progress;

/// The Go guest language.
#[derive(Debug)]
pub struct Go;

impl Language for Go {
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
        let bar = progress::spinner("building Go guests for wasip1/wasm");
        let mut modules = Vec::new();
        for workload in super::workloads_with(project, "go", "main.go")? {
            let path = out.join(format!("{workload}.{}.wasm", Flavour::Embedded));
            let output = crate::go_host::go_command(cache, &src)
                .env("GOOS", "wasip1")
                .env("GOARCH", "wasm")
                // Reproducible bytes: no VCS stamp, no checkout paths, no symbol names.
                .args([
                    "build",
                    "-buildmode=c-shared",
                    "-trimpath",
                    "-buildvcs=false",
                    "-ldflags=-s",
                    "-o",
                ])
                .arg(&path)
                .arg(format!("./{workload}"))
                .output()
                .context("running go build for the Go guests")?;
            if !output.status.success() {
                bar.finish_and_clear();
                bail!(
                    "go build ./{workload} failed:\n{}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            modules.push(BuiltModule {
                workload,
                flavour: Flavour::Embedded,
                path,
            });
        }
        bar.finish_and_clear();
        Ok(modules)
    }
}
