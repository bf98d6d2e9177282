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
//! - `command` (tag `bb_command`): a plain WASI command;
//! - `component` (tag `bb_component`): a reactor whose imports and exports
//!   are `wasi:http/proxy`'s, through bindings generated here (below), made
//!   into a component with Wasmtime's preview-1 adapter.
//!
//! Middleware and command are built for pure workloads only (their vector
//! file says `"pure": true`): daprd runs those modules without Dapr access.
//!
//! ## The component flavour
//!
//! Go's own compiler makes WASI preview-1 modules only; a `wasi:http`
//! component is made from one in three steps, all from the registries (what
//! `componentize-go` does, which is not published on them):
//!
//! 1. **Bindings.** wit-bindgen's Go generator (its library, a dependency
//!    of this crate) writes Go packages for the world in `workloads/wit/`
//!    into a copy of `workloads/go/wit/` (module `blueprint-bench/wit`, whose
//!    only hand-written package is the export's), in a scratch folder. A Go
//!    workspace file there joins it to `workloads/go`. The generated code
//!    imports `go.bytecodealliance.org/pkg` from the Go module proxy.
//! 2. **Core module.** `go build -buildmode=c-shared -tags=bb_component`, as
//!    for the other reactors, plus `-checklinkname=0`: that runtime package
//!    links to `runtime.sbrk` for allocations made before Go's runtime
//!    started.
//! 3. **Component.** wit-component embeds the world and wraps the module,
//!    with the preview-1 reactor adapter of our Wasmtime's release mapping
//!    Go's WASI preview-1 calls to WASI 0.2.

use std::path::Path;

use anyhow::{Context, Result};

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
        Flavour::Component => Some("bb_component"),
    }
}

impl Language for Go {
    identity!("go", "Go");

    fn extra_sources(&self) -> &'static [&'static str] {
        // The component flavour's world.
        &[super::COMPONENT_WIT]
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
        let wit = project.join(super::COMPONENT_WIT);
        let scratch = tempfile::tempdir().context("creating a scratch folder")?;
        // Made on the first component built.
        let mut setup = None;
        build_step::guests(self, project, out, "main.go", |workload, flavour, path| {
            if flavour == Flavour::Component {
                let setup = match &setup {
                    Some(setup) => setup,
                    None => setup.insert(ComponentSetup::new(&src, &wit, scratch.path())?),
                };
                let core = scratch.path().join(format!("{workload}.core.wasm"));
                go_build(cache, &src, workload, flavour, Some(&setup.workspace), &core)?;
                return setup.componentize(&core, path);
            }
            go_build(cache, &src, workload, flavour, None, path)?;
            if flavour == Flavour::Middleware {
                start_export(cache, &src, path)?;
            }
            Ok(())
        })
    }
}

/// `go build` of one workload in one flavour; `workspace`, the Go workspace
/// file that adds the bindings module (component flavour only).
fn go_build(
    cache: &Path,
    src: &Path,
    workload: &str,
    flavour: Flavour,
    workspace: Option<&Path>,
    path: &Path,
) -> Result<()> {
    let mut cmd = crate::go_host::go_command(cache, src);
    cmd.env("GOOS", "wasip1").env("GOARCH", "wasm").arg("build");
    if let Some(work) = workspace {
        cmd.env("GOWORK", work);
    }
    if flavour != Flavour::Command {
        // Every flavour but the command exports its entry points (`go:wasmexport`).
        cmd.arg("-buildmode=c-shared");
    }
    if let Some(tag) = tag(flavour) {
        cmd.arg(format!("-tags={tag}"));
    }
    // Reproducible bytes: no VCS stamp, no checkout paths, no symbol names.
    cmd.args(["-trimpath", "-buildvcs=false"]);
    if flavour == Flavour::Component {
        // The bindings' runtime package links to `runtime.sbrk` (module text).
        cmd.arg("-ldflags=-s -checklinkname=0");
    } else {
        cmd.arg("-ldflags=-s");
    }
    cmd.arg("-o").arg(path).arg(format!("./{workload}"));
    build_step::run(&mut cmd, "go build").map(drop)
}

/// The component world's name in `workloads/wit/world.wit`.
const COMPONENT_WORLD: &str = "component";

/// The Go package path the bindings are generated under: the module in
/// `workloads/go/wit/go.mod`.
const BINDINGS_MODULE: &str = "blueprint-bench/wit";

/// Reads the component world from `wit` (`workloads/wit/`).
fn component_world(wit: &Path) -> Result<(wit_parser::Resolve, wit_parser::WorldId)> {
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(wit)
        .with_context(|| format!("reading the WIT in {}", wit.display()))?;
    let world = resolve
        .select_world(&[package], Some(COMPONENT_WORLD))
        .with_context(|| format!("finding the world `{COMPONENT_WORLD}` in {}", wit.display()))?;
    Ok((resolve, world))
}

/// What every Go component of one build shares: the Go workspace with the
/// generated bindings, and the world the components embed (read once).
struct ComponentSetup {
    /// The `go.work` file that adds the bindings module.
    workspace: std::path::PathBuf,
    resolve: wit_parser::Resolve,
    world: wit_parser::WorldId,
}

impl ComponentSetup {
    /// Reads the world in `wit` and makes the bindings module in
    /// `scratch/wit`: a copy of `src/wit` (its `go.mod`, `go.sum` and the
    /// hand-written export package) with the generated packages beside it;
    /// and `scratch/go.work`, which joins it to `src`.
    fn new(src: &Path, wit: &Path, scratch: &Path) -> Result<Self> {
        let (resolve, world) = component_world(wit)?;
        let workspace = bindings_workspace(src, &resolve, world, scratch)?;
        Ok(Self {
            workspace,
            resolve,
            world,
        })
    }

    /// Makes the component at `path` from the core module `core`: the
    /// world's type information embedded, then wrapped with the preview-1
    /// reactor adapter, and validated.
    fn componentize(&self, core: &Path, path: &Path) -> Result<()> {
        let mut module = std::fs::read(core).with_context(|| format!("reading {}", core.display()))?;
        wit_component::embed_component_metadata(
            &mut module,
            &self.resolve,
            self.world,
            wit_component::StringEncoding::UTF8,
        )
        .context("embedding the component world")?;
        let component = wit_component::ComponentEncoder::default()
            .module(&module)
            .context("reading the core module for wit-component")?
            .adapter(
                "wasi_snapshot_preview1",
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
            .context("adding the preview-1 reactor adapter")?
            .validate(true)
            .encode()
            .context("making the component (wit-component)")?;
        std::fs::write(path, component).with_context(|| format!("writing {}", path.display()))
    }
}

/// Writes the bindings module and the workspace file (see
/// [`ComponentSetup::new`]); returns the workspace file.
fn bindings_workspace(
    src: &Path,
    resolve: &wit_parser::Resolve,
    world: wit_parser::WorldId,
    scratch: &Path,
) -> Result<std::path::PathBuf> {
    let module = scratch.join("wit");
    copy_tree(&src.join("wit"), &module)?;
    // The generator takes the resolve mutably; the components embed the
    // one read.
    let mut resolve = resolve.clone();
    let options = wit_bindgen_go::Opts {
        // gofmt is not needed to compile, and may be missing.
        format: wit_bindgen_go::Format::False,
        pkg_name: Some(BINDINGS_MODULE.to_owned()),
        ..Default::default()
    };
    let mut files = wit_bindgen_core::Files::default();
    options
        .build()
        .generate(&mut resolve, world, &mut files)
        .context("generating the Go bindings of the component world (wit-bindgen go)")?;
    for (name, bytes) in files.iter() {
        let path = module.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let work = scratch.join("go.work");
    let text = format!(
        "go 1.26\n\nuse (\n\t{}\n\t{}\n)\n",
        quoted(src)?,
        quoted(&module)?
    );
    std::fs::write(&work, text).with_context(|| format!("writing {}", work.display()))?;
    Ok(work)
}

/// A path as a `go.work` string literal.
fn quoted(path: &Path) -> Result<String> {
    let text = path
        .to_str()
        .with_context(|| format!("{} is not UTF-8, which go.work needs", path.display()))?;
    Ok(format!("{text:?}"))
}

/// Copies the files under `from` to `to`.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {} to {}", entry.path().display(), target.display()))?;
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    /// The Go module the generated bindings import must be the version
    /// `workloads/go/wit/go.mod` requires (and `go.sum` vouches for): a new
    /// generator may need a new one.
    #[test]
    fn the_bindings_module_requires_the_runtime_package_the_generator_names() {
        let go_mod =
            std::fs::read_to_string(crate::paths::project_dir().join("workloads/go/wit/go.mod")).unwrap();
        let wanted = wit_bindgen_go::remote_pkg_version();
        assert!(
            go_mod
                .lines()
                .any(|line| line.trim() == format!("require {wanted}")),
            "workloads/go/wit/go.mod does not say `require {wanted}`"
        );
    }
}
