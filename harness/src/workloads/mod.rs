//! Workloads: the guest modules each language builds from
//! `workloads/<language>/`, in the flavours the integration modes need, and
//! the golden vectors every one of them must reproduce.
//!
//! Each language is one [`Language`] in its own file. The builds are cached by
//! a hash of the language's sources and the vectors, so a slow toolchain runs
//! only when something it reads changed.

/// A language's `name`, its `title` in messages, and its `recipe`: the
/// builder's own file `workloads/<name>.rs` with the build steps it shares,
/// so that a change to either rebuilds the guests.
macro_rules! identity {
    ($name:literal, $title:literal) => {
        fn name(&self) -> &'static str {
            $name
        }

        fn title(&self) -> &'static str {
            $title
        }

        fn recipe(&self) -> &'static str {
            concat!(
                include_str!(concat!($name, ".rs")),
                include_str!("build_step.rs")
            )
        }
    };
}

mod assemblyscript;
pub(crate) mod build_step;
mod c;
pub mod custom;
mod go;
mod javascript;
mod python;
mod rust;
pub mod rustup;
mod vectors;
mod zig;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use blueprint_analysis::modes::{FLAVOURS, Flavour};
pub use custom::{CUSTOM_LANGUAGE, CustomWorkload, CustomWorkloads};
pub use vectors::{
    Case, Expected, PARTIAL_WORKLOADS, VectorFile, implemented_in, known_workloads, languages_of,
    load_vectors, vectors_dir,
};

/// One module a language build produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltModule {
    /// Workload name (a file in `workloads/vectors/`).
    pub workload: String,
    /// Its shape.
    pub flavour: Flavour,
    /// The `.wasm` file.
    pub path: PathBuf,
}

/// Why a language cannot be built here, and what fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    /// What is missing.
    pub reason: String,
    /// The command that installs it.
    pub install: String,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (install: {})", self.reason, self.install)
    }
}

/// The WIT world the Go, JavaScript and Python `component` flavours are
/// built for, with the WASI 0.2.12 packages it includes in `deps/`; a source
/// of those languages' builds.
pub(crate) const COMPONENT_WIT: &str = "workloads/wit";

/// One guest language: its toolchain check and its build.
pub trait Language: Sync {
    /// Its name in scenarios and results.
    fn name(&self) -> &'static str;

    /// Its name in messages ("AssemblyScript").
    fn title(&self) -> &'static str;

    /// Whether the toolchain is here.
    ///
    /// # Errors
    /// What is missing and how to install it.
    fn toolchain(&self, cache: &Path) -> std::result::Result<(), Missing>;

    /// Builds every workload in every flavour it has into `out`.
    ///
    /// # Errors
    /// A compile error, with the toolchain's output.
    fn build(&self, project: &Path, cache: &Path, out: &Path) -> Result<Vec<BuiltModule>>;

    /// The build recipe's own source, hashed with the workloads' sources so
    /// that a changed builder rebuilds instead of reusing stale modules.
    fn recipe(&self) -> &'static str;

    /// Source folders outside `workloads/<language>/` its modules are built
    /// from (relative to the project), hashed into the build key so that a
    /// change there rebuilds them.
    fn extra_sources(&self) -> &'static [&'static str] {
        &[]
    }

    /// Rust targets its build needs; installed on first use by
    /// [`check_toolchain`] where rustup is available.
    fn rust_targets(&self) -> &'static [&'static str] {
        &[]
    }

    /// Flavours the language cannot produce at all, with the reason
    /// (reported as "n/a: <reason>" rather than hidden).
    fn unsupported(&self) -> &'static [(Flavour, &'static str)] {
        &[]
    }
}

/// Every guest language with a library in this checkout.
pub static LANGUAGE_BUILDS: &[&dyn Language] = &[
    &rust::Rust,
    &go::Go,
    &c::C,
    &zig::Zig,
    &assemblyscript::AssemblyScript,
    &javascript::JavaScript,
    &python::Python,
];

/// Their names, for scenario validation.
pub const LANGUAGES: &[&str] = &["rust", "go", "c", "zig", "assemblyscript", "javascript", "python"];

/// The language called `name`.
///
/// # Errors
/// No such language.
pub fn language(name: &str) -> Result<&'static dyn Language> {
    LANGUAGE_BUILDS
        .iter()
        .copied()
        .find(|l| l.name() == name)
        .with_context(|| format!("unknown language `{name}` (known: {})", LANGUAGES.join(", ")))
}

/// What exists for one (language, workload, flavour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// Built.
    Built(&'a Path),
    /// The language's toolchain is missing here.
    Unavailable(String),
    /// The language cannot have this flavour, or has no such workload.
    NotApplicable(String),
}

/// Every module built for this checkout, and why the others are not there.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// `(language, workload, flavour) -> module`.
    pub modules: BTreeMap<(String, String, Flavour), PathBuf>,
    /// Languages whose toolchain is missing.
    pub unavailable: BTreeMap<String, Missing>,
    /// The scenario's own workloads; their modules are in `modules` under
    /// [`CUSTOM_LANGUAGE`].
    pub custom: CustomWorkloads,
}

impl Catalog {
    /// Adds a scenario's own workloads, which need no build.
    pub fn add_custom(&mut self, custom: &CustomWorkloads) {
        for (name, workload) in custom {
            for (flavour, path) in &workload.modules {
                self.modules
                    .insert((CUSTOM_LANGUAGE.to_owned(), name.clone(), *flavour), path.clone());
            }
            self.custom.insert(name.clone(), workload.clone());
        }
    }

    /// The module for a cell, or why there is none.
    pub fn lookup(&self, language: &str, workload: &str, flavour: Flavour) -> Lookup<'_> {
        if let Some(missing) = self.unavailable.get(language) {
            return Lookup::Unavailable(missing.to_string());
        }
        if let Some(path) = self
            .modules
            .get(&(language.to_owned(), workload.to_owned(), flavour))
        {
            return Lookup::Built(path);
        }
        if language == CUSTOM_LANGUAGE {
            return Lookup::NotApplicable(custom::missing_reason(workload, flavour));
        }
        let unsupported = self::language(language)
            .ok()
            .into_iter()
            .flat_map(|l| l.unsupported())
            .find(|(f, _)| *f == flavour);
        // A workload the language does not have at all comes before
        // whatever the language says about the flavour.
        match (languages_of(workload), unsupported) {
            (Some(languages), _) if !languages.contains(&language) => Lookup::NotApplicable(format!(
                "no {language} `{workload}` module: `{workload}` is written in {} only",
                languages.join(", ")
            )),
            (_, Some((_, reason))) => Lookup::NotApplicable((*reason).to_owned()),
            (_, None) => Lookup::NotApplicable(format!(
                "no {language} `{workload}` module of the {flavour} flavour"
            )),
        }
    }

    /// `(language, workload) -> module` of one flavour.
    pub fn of_flavour(&self, flavour: Flavour) -> BTreeMap<(String, String), PathBuf> {
        self.modules
            .iter()
            .filter(|((_, _, f), _)| *f == flavour)
            .map(|((l, w, _), p)| ((l.clone(), w.clone()), p.clone()))
            .collect()
    }
}

/// Builds every language whose toolchain is present; a language that cannot
/// be built is recorded with the reason and the fix, not dropped.
///
/// # Errors
/// A compile error in a language whose toolchain is present.
pub fn build_all(project: &Path, cache: &Path) -> Result<Catalog> {
    build_languages(project, cache, LANGUAGES)
}

/// As [`build_all`], for the named languages only (a scenario builds what
/// its cells use).
///
/// # Errors
/// A compile error in a language whose toolchain is present.
pub fn build_languages(project: &Path, cache: &Path, names: &[&str]) -> Result<Catalog> {
    let mut catalog = Catalog::default();
    for language in LANGUAGE_BUILDS.iter().filter(|l| names.contains(&l.name())) {
        if let Err(missing) = check_toolchain(*language, cache) {
            tracing::info!("{} guests unavailable: {missing}", language.name());
            catalog.unavailable.insert(language.name().to_owned(), missing);
            continue;
        }
        for module in build_cached(*language, project, cache)? {
            catalog.modules.insert(
                (language.name().to_owned(), module.workload, module.flavour),
                module.path,
            );
        }
    }
    Ok(catalog)
}

/// Whether `language` can be built here: its Rust targets (added through
/// rustup when missing), then its own toolchain check.
///
/// # Errors
/// What is missing and how to install it.
pub fn check_toolchain(language: &dyn Language, cache: &Path) -> std::result::Result<(), Missing> {
    if !language.rust_targets().is_empty() {
        rustup::ensure_targets(language.rust_targets())?;
    }
    language.toolchain(cache)
}

/// Whether `language`'s guests for this checkout are already in the cache.
pub fn is_built(language: &dyn Language, project: &Path, cache: &Path) -> bool {
    build_folder(language, project, cache)
        .ok()
        .and_then(|dir| read_manifest(&dir))
        .is_some()
}

/// What exists of every workload × language × flavour, from the builds
/// already in the cache (nothing is built): for `blueprint-bench list`.
///
/// # Errors
/// The vectors or a language's sources cannot be read.
pub fn cached_catalog(project: &Path, cache: &Path) -> Result<(Catalog, Vec<String>)> {
    let mut catalog = Catalog::default();
    let mut not_built = Vec::new();
    for language in LANGUAGE_BUILDS {
        if let Err(missing) = language.toolchain(cache) {
            catalog.unavailable.insert(language.name().to_owned(), missing);
            continue;
        }
        match read_manifest(&build_folder(*language, project, cache)?) {
            Some(modules) => {
                for module in modules {
                    catalog.modules.insert(
                        (language.name().to_owned(), module.workload, module.flavour),
                        module.path,
                    );
                }
            }
            None => not_built.push(language.name().to_owned()),
        }
    }
    Ok((catalog, not_built))
}

/// One row of the module matrix.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleRow {
    /// Workload.
    pub workload: String,
    /// Language.
    pub language: String,
    /// Flavour.
    pub flavour: Flavour,
    /// `built`, `n/a`, `unavailable` or `not built`.
    pub status: String,
    /// Module size, when built.
    pub size_bytes: Option<u64>,
    /// Why it is not built, otherwise.
    pub reason: Option<String>,
}

/// Every workload × language × flavour with its status and size.
///
/// # Errors
/// The vectors cannot be read.
pub fn module_matrix(project: &Path, catalog: &Catalog, not_built: &[String]) -> Result<Vec<ModuleRow>> {
    let mut rows = Vec::new();
    for workload in known_workloads(project)? {
        for language in LANGUAGES {
            for flavour in FLAVOURS {
                let (status, size_bytes, reason) = if not_built.iter().any(|l| l == language) {
                    ("not built", None, Some("run `blueprint-bench build`".to_owned()))
                } else {
                    match catalog.lookup(language, &workload, *flavour) {
                        Lookup::Built(path) => ("built", std::fs::metadata(path).ok().map(|m| m.len()), None),
                        Lookup::Unavailable(reason) => ("unavailable", None, Some(reason)),
                        Lookup::NotApplicable(reason) => ("n/a", None, Some(reason)),
                    }
                };
                rows.push(ModuleRow {
                    workload: workload.clone(),
                    language: (*language).to_owned(),
                    flavour: *flavour,
                    status: status.to_owned(),
                    size_bytes,
                    reason,
                });
            }
        }
    }
    Ok(rows)
}

/// A scenario's own workloads as rows of the module matrix: each flavour
/// given (`given`, with its size) or not (`n/a`, with the reason).
pub fn custom_rows(custom: &CustomWorkloads) -> Vec<ModuleRow> {
    let mut rows = Vec::new();
    for workload in custom.values() {
        for flavour in FLAVOURS {
            let path = workload.modules.get(flavour);
            rows.push(ModuleRow {
                workload: workload.name.clone(),
                language: CUSTOM_LANGUAGE.to_owned(),
                flavour: *flavour,
                status: if path.is_some() { "given" } else { "n/a" }.to_owned(),
                size_bytes: path.and_then(|p| std::fs::metadata(p).ok()).map(|m| m.len()),
                reason: workload.missing(*flavour),
            });
        }
    }
    rows
}

/// The folder a build of `language`'s current sources lives in.
fn build_folder(language: &dyn Language, project: &Path, cache: &Path) -> Result<PathBuf> {
    let mut sources = vec![
        project.join("workloads").join(language.name()),
        vectors_dir(project),
    ];
    sources.extend(language.extra_sources().iter().map(|s| project.join(s)));
    let hash = source_hash(&sources, language.recipe())?;
    Ok(cache.join("guests").join(language.name()).join(&hash[..16]))
}

/// The manifest a finished build leaves in its output folder.
const MANIFEST: &str = "built.json";

/// Builds one language into `guests/<language>/<source hash>/`, or reuses
/// that folder when a finished build is already there. A lock file keeps two
/// processes from building the same language at once.
///
/// # Errors
/// The build fails, or the cache cannot be written.
pub fn build_cached(language: &dyn Language, project: &Path, cache: &Path) -> Result<Vec<BuiltModule>> {
    let root = cache.join("guests").join(language.name());
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let lock_file = std::fs::File::create(root.join(".lock"))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("locking the guest build cache")?;

    let out = build_folder(language, project, cache)?;
    if let Some(modules) = read_manifest(&out) {
        return Ok(modules);
    }
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;
    let modules = language
        .build(project, cache, &out)
        .with_context(|| format!("building the {} guests", language.name()))?;
    blueprint_analysis::results::write_atomic(&out.join(MANIFEST), &modules)?;
    prune_old_builds(&root, &out);
    Ok(modules)
}

/// Builds kept per language: other checkouts of the project (branches side
/// by side) share the cache and must not lose theirs to each other.
const KEEP_BUILDS: usize = 4;

/// Removes all but the newest [`KEEP_BUILDS`] build folders in `root`.
fn prune_old_builds(root: &Path, current: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let mut builds: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().is_dir() && e.path() != current && is_build_folder(&e.file_name()))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    builds.sort_by_key(|b| std::cmp::Reverse(b.0));
    for (_, path) in builds.into_iter().skip(KEEP_BUILDS - 1) {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// Whether a folder name is one of ours: 16 hex digits of a source hash.
fn is_build_folder(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.len() == 16 && n.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn read_manifest(out: &Path) -> Option<Vec<BuiltModule>> {
    let text = std::fs::read_to_string(out.join(MANIFEST)).ok()?;
    let modules: Vec<BuiltModule> = serde_json::from_str(&text).ok()?;
    modules.iter().all(|m| m.path.is_file()).then_some(modules)
}

/// Build output folders a language's sources may contain; never hashed.
const SKIPPED_DIRS: &[&str] = &[
    "target",
    "node_modules",
    ".zig-cache",
    "zig-cache",
    "zig-out",
    "__pycache__",
];

/// SHA-256 (hex) of a module file, or `None` when it cannot be read.
pub fn file_sha256(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|bytes| hex::encode(Sha256::digest(bytes)))
}

/// SHA-256 over `recipe` and the paths and contents of every file under `roots`.
fn source_hash(roots: &[PathBuf], recipe: &str) -> Result<String> {
    let mut files = Vec::new();
    for root in roots {
        collect_files(root, &mut files)?;
    }
    files.sort();
    let mut hasher = Sha256::new();
    hasher.update(recipe.as_bytes());
    hasher.update([0]);
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?);
        hasher.update([0]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name) {
                collect_files(&path, files)?;
            }
        } else {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_is_listed_by_name() {
        let names: Vec<&str> = LANGUAGE_BUILDS.iter().map(|l| l.name()).collect();
        assert_eq!(names, LANGUAGES);
    }

    #[test]
    fn flavours_round_trip_through_their_names() {
        for flavour in FLAVOURS {
            assert_eq!(flavour.as_str().parse::<Flavour>().unwrap(), *flavour);
        }
        assert!("wasi".parse::<Flavour>().is_err());
    }

    #[test]
    fn the_source_hash_sees_content_and_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "1").unwrap();
        let first = source_hash(&[dir.path().to_owned()], "").unwrap();
        std::fs::write(dir.path().join("a"), "2").unwrap();
        let second = source_hash(&[dir.path().to_owned()], "").unwrap();
        std::fs::create_dir(dir.path().join("target")).unwrap();
        std::fs::write(dir.path().join("target/x"), "ignored").unwrap();
        assert_eq!(second, source_hash(&[dir.path().to_owned()], "").unwrap());
        std::fs::rename(dir.path().join("a"), dir.path().join("b")).unwrap();
        let third = source_hash(&[dir.path().to_owned()], "").unwrap();
        assert!(first != second && second != third);
    }

    #[test]
    fn a_missing_flavour_is_not_applicable_and_a_missing_toolchain_unavailable() {
        let mut catalog = Catalog::default();
        catalog.modules.insert(
            ("rust".into(), "noop".into(), Flavour::Embedded),
            PathBuf::from("/x/noop.wasm"),
        );
        catalog.unavailable.insert(
            "go".into(),
            Missing {
                reason: "no Go".into(),
                install: "apt-get install golang".into(),
            },
        );
        assert_eq!(
            catalog.lookup("rust", "noop", Flavour::Embedded),
            Lookup::Built(Path::new("/x/noop.wasm"))
        );
        assert!(matches!(
            catalog.lookup("rust", "noop", Flavour::Middleware),
            Lookup::NotApplicable(_)
        ));
        assert!(matches!(
            catalog.lookup("go", "noop", Flavour::Embedded),
            Lookup::Unavailable(r) if r.contains("apt-get install golang")
        ));
    }

    #[test]
    fn a_workload_a_language_does_not_implement_says_who_does() {
        let catalog = Catalog::default();
        for language in LANGUAGES {
            for flavour in FLAVOURS {
                let Lookup::NotApplicable(reason) = catalog.lookup(language, "fanout", *flavour) else {
                    panic!("{language} fanout is not n/a in an empty catalog");
                };
                if !implemented_in("fanout", language) {
                    assert_eq!(
                        reason,
                        format!("no {language} `fanout` module: `fanout` is written in rust, go, c only")
                    );
                }
            }
        }
    }
}
