//! Workloads: building the guest modules from `workloads/<language>/` and
//! reading the golden vectors in `workloads/vectors/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::progress;

/// The expected behaviour of one workload, shared by every language.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    /// Workload name.
    pub workload: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// True when it touches no Dapr API (may run as middleware or binding).
    pub pure: bool,
    /// Cases, run in order on one initially empty store.
    pub cases: Vec<Case>,
    /// Keys that must hold these values afterwards.
    #[serde(default)]
    pub final_state: BTreeMap<String, String>,
}

/// One input and what must come of it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Case name, for messages.
    pub name: String,
    /// UTF-8 input.
    #[serde(default)]
    pub input: Option<String>,
    /// Binary input.
    #[serde(default)]
    pub input_base64: Option<String>,
    /// Expected UTF-8 output.
    #[serde(default)]
    pub output: Option<String>,
    /// Expected binary output.
    #[serde(default)]
    pub output_base64: Option<String>,
    /// Expected guest error message.
    #[serde(default)]
    pub error: Option<String>,
}

/// What a case must produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// These bytes.
    Output(Vec<u8>),
    /// A guest error with this message.
    Error(String),
}

impl Case {
    /// The input bytes.
    ///
    /// # Errors
    /// Neither or both of `input`/`input_base64`, or bad base64.
    pub fn input_bytes(&self) -> Result<Vec<u8>> {
        match (&self.input, &self.input_base64) {
            (Some(text), None) => Ok(text.as_bytes().to_vec()),
            (None, Some(b64)) => B64
                .decode(b64)
                .with_context(|| format!("case `{}`: input_base64", self.name)),
            _ => bail!("case `{}`: give exactly one of input, input_base64", self.name),
        }
    }

    /// The expected outcome.
    ///
    /// # Errors
    /// Not exactly one of `output`, `output_base64`, `error`, or bad base64.
    pub fn expected(&self) -> Result<Expected> {
        match (&self.output, &self.output_base64, &self.error) {
            (Some(text), None, None) => Ok(Expected::Output(text.as_bytes().to_vec())),
            (None, Some(b64), None) => {
                Ok(Expected::Output(B64.decode(b64).with_context(|| {
                    format!("case `{}`: output_base64", self.name)
                })?))
            }
            (None, None, Some(message)) => Ok(Expected::Error(message.clone())),
            _ => bail!(
                "case `{}`: give exactly one of output, output_base64, error",
                self.name
            ),
        }
    }
}

/// The vectors directory of a project checkout.
pub fn vectors_dir(project: &Path) -> PathBuf {
    project.join("workloads").join("vectors")
}

/// Reads `workloads/vectors/<name>.json`.
///
/// # Errors
/// Missing or malformed file (named in the message).
pub fn load_vectors(project: &Path, name: &str) -> Result<VectorFile> {
    let path = vectors_dir(project).join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: VectorFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if file.workload != name {
        bail!(
            "{}: says workload `{}`, expected `{name}`",
            path.display(),
            file.workload
        );
    }
    for case in &file.cases {
        case.input_bytes().with_context(|| path.display().to_string())?;
        case.expected().with_context(|| path.display().to_string())?;
    }
    Ok(file)
}

/// The workloads that have vectors, sorted.
///
/// # Errors
/// The vectors folder cannot be read.
pub fn known_workloads(project: &Path) -> Result<Vec<String>> {
    let dir = vectors_dir(project);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

/// Languages with a guest library in this checkout.
pub const LANGUAGES: &[&str] = &["rust", "go"];

/// Built modules: `(language, workload) -> path`.
pub type Modules = BTreeMap<(String, String), PathBuf>;

/// Builds every language's guests whose toolchain is present. A language that
/// cannot be built is returned in the second map with the reason, not dropped.
///
/// # Errors
/// A compile error in a language whose toolchain is present.
pub fn build_all(project: &Path, cache: &Path) -> Result<(Modules, BTreeMap<String, String>)> {
    let mut modules = Modules::new();
    let mut unavailable = BTreeMap::new();
    for language in LANGUAGES {
        let built = match *language {
            "rust" => build_rust(project, cache)?,
            "go" if !crate::go_host::go_available() => {
                unavailable.insert("go".into(), "no Go toolchain: install Go 1.26+".into());
                continue;
            }
            "go" => build_go(project, cache)?,
            other => bail!("no build recipe for language `{other}`"),
        };
        for (workload, path) in built {
            modules.insert(((*language).to_owned(), workload), path);
        }
    }
    Ok((modules, unavailable))
}

/// Builds the Rust guests (cargo is incremental, so an unchanged tree costs a
/// second) and returns `workload -> module path`.
///
/// # Errors
/// The wasm32-wasip1 target missing (with the rustup command that adds it) or
/// a compile error (with cargo's output).
pub fn build_rust(project: &Path, cache: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let manifest = project.join("workloads/rust/Cargo.toml");
    let target_dir = cache.join("guests/rust");
    let bar = progress::spinner("building Rust guests for wasm32-wasip1");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        // The guests' own profile decides; flags meant for the host do not apply.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .context("running cargo to build the Rust guests")?;
    bar.finish_and_clear();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("wasm32-wasip1") && stderr.contains("target may not be installed") {
            bail!("the Rust wasm32-wasip1 target is missing: run `rustup target add wasm32-wasip1`");
        }
        bail!("building the Rust guests failed:\n{stderr}");
    }
    collect(project, &target_dir.join("wasm32-wasip1/release"))
}

/// Builds the Go guests as WASI reactors (`-buildmode=c-shared`, `go:wasmexport`);
/// Go's build cache makes an unchanged tree cost about a second.
///
/// # Errors
/// A compile error, with Go's output.
pub fn build_go(project: &Path, cache: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let src = project.join("workloads/go");
    let out_dir = cache.join("guests/go");
    std::fs::create_dir_all(&out_dir)?;
    let bar = progress::spinner("building Go guests for wasip1/wasm");
    for workload in known_workloads(project)? {
        if !src.join(&workload).join("main.go").is_file() {
            continue;
        }
        let out = crate::go_host::go_command(cache, &src)
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
            .arg(out_dir.join(format!("{workload}.wasm")))
            .arg(format!("./{workload}"))
            .output()
            .context("running go build for the Go guests")?;
        if !out.status.success() {
            bar.finish_and_clear();
            bail!(
                "building the Go guest `{workload}` failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    bar.finish_and_clear();
    collect(project, &out_dir)
}

fn collect(project: &Path, dir: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut modules = BTreeMap::new();
    for name in known_workloads(project)? {
        let path = dir.join(format!("{name}.wasm"));
        if path.is_file() {
            modules.insert(name, path);
        }
    }
    Ok(modules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(json: &str) -> Case {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn cases_need_exactly_one_input_and_one_outcome() {
        let ok = case(r#"{"name":"a","input":"x","output":"y"}"#);
        assert_eq!(ok.input_bytes().unwrap(), b"x");
        assert_eq!(ok.expected().unwrap(), Expected::Output(b"y".to_vec()));
        let bin = case(r#"{"name":"b","input_base64":"AAE=","error":"no"}"#);
        assert_eq!(bin.input_bytes().unwrap(), vec![0, 1]);
        assert_eq!(bin.expected().unwrap(), Expected::Error("no".into()));
        assert!(case(r#"{"name":"c","output":"y"}"#).input_bytes().is_err());
        assert!(
            case(r#"{"name":"d","input":"x","output":"y","error":"e"}"#)
                .expected()
                .is_err()
        );
    }

    #[test]
    fn the_checked_in_vectors_parse() {
        let project = crate::paths::project_dir();
        let names = known_workloads(&project).unwrap();
        assert!(names.contains(&"noop".to_owned()) && names.contains(&"counter".to_owned()));
        for name in names {
            load_vectors(&project, &name).unwrap();
        }
    }
}
