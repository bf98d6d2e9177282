//! The steps every language's build is made of: the loop over its workloads
//! and flavours, running a tool, and installing a toolchain into the cache.
//! A language's own file says only what differs: its tools and their flags.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use super::{BuiltModule, FLAVOURS, Flavour, Language};
use crate::progress;

/// Whether a flavour can carry a workload: middleware and command modules
/// have no Dapr access, so only pure workloads are built as those.
pub(super) fn carries(flavour: Flavour, pure: bool) -> bool {
    pure || matches!(flavour, Flavour::Embedded | Flavour::Http | Flavour::Component)
}

/// Builds `language`'s guests into `out`: every workload whose folder
/// `workloads/<language>/<workload>/` holds `marker` (`{workload}` in it
/// stands for the workload's name), in every flavour the language has and
/// the workload may be built in (see [`carries`]), in vector and flavour
/// order. `build` makes one module at the path it is given.
///
/// # Errors
/// The vectors cannot be read, or `build` fails (with the workload and
/// flavour in the error).
pub(super) fn guests(
    language: &dyn Language,
    project: &Path,
    out: &Path,
    marker: &str,
    mut build: impl FnMut(&str, Flavour, &Path) -> Result<()>,
) -> Result<Vec<BuiltModule>> {
    let src = project.join("workloads").join(language.name());
    let mut jobs = Vec::new();
    for workload in super::known_workloads(project)? {
        if !src
            .join(&workload)
            .join(marker.replace("{workload}", &workload))
            .is_file()
        {
            continue;
        }
        let pure = super::load_vectors(project, &workload)?.pure;
        for &flavour in FLAVOURS {
            let unsupported = language.unsupported().iter().any(|(f, _)| *f == flavour);
            if !unsupported && carries(flavour, pure) {
                jobs.push((workload.clone(), flavour));
            }
        }
    }
    let title = language.title();
    let bar = progress::bar(jobs.len() as u64, format!("building {title} guests"));
    let mut modules = Vec::new();
    for (workload, flavour) in jobs {
        progress::step(&bar, format!("building {title} guest {workload} ({flavour})"));
        let path = out.join(format!("{workload}.{flavour}.wasm"));
        if let Err(e) = build(&workload, flavour, &path) {
            bar.finish_and_clear();
            return Err(e.context(format!("building the {title} guest {workload} ({flavour})")));
        }
        bar.inc(1);
        modules.push(BuiltModule {
            workload,
            flavour,
            path,
        });
    }
    bar.finish_and_clear();
    Ok(modules)
}

/// Runs a build tool to its end (shared with the wazero host's build, which
/// is not a guest: the one definition lives with the other child processes).
pub(crate) use crate::process::run_to_end as run;

/// Installs a toolchain into `dir`: `fill` writes it into a sibling folder
/// that gets the final name only once `fill` succeeded, so a half-finished
/// install is never mistaken for a finished one. `what` is shown meanwhile.
///
/// # Errors
/// `fill` fails, or the folders cannot be written.
pub(super) fn install_into(dir: &Path, what: &str, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let partial = dir.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial).with_context(|| format!("clearing {}", partial.display()))?;
    }
    std::fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let bar = progress::spinner(format!("installing {what} into {}", dir.display()));
    let filled = fill(&partial);
    bar.finish_and_clear();
    filled.with_context(|| format!("installing {what}"))?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::rename(&partial, dir).with_context(|| format!("moving {what} into {}", dir.display()))
}

/// Installs the npm packages that `package_dir`'s `package.json` and
/// `package-lock.json` pin, with `npm ci`, into `<root>/<prefix><hash of the
/// two files>` (so a new pin gets a fresh install) unless it is there, and
/// returns `entry` inside that folder, which the install must have made.
///
/// # Errors
/// The two files cannot be read, npm fails, or `entry` is missing after it.
pub(super) fn npm_ci(
    package_dir: &Path,
    root: &Path,
    prefix: &str,
    entry: &str,
    what: &str,
) -> Result<PathBuf> {
    let read = |name: &str| {
        let path = package_dir.join(name);
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    };
    let (manifest, lock) = (read("package.json")?, read("package-lock.json")?);
    let mut hasher = Sha256::new();
    hasher.update(&manifest);
    hasher.update([0]);
    hasher.update(&lock);
    let dir = root.join(format!("{prefix}{}", hex::encode(&hasher.finalize()[..8])));
    let entry = dir.join(entry);
    if entry.is_file() {
        return Ok(entry);
    }
    install_into(&dir, &format!("{what} with npm ci"), |partial| {
        std::fs::write(partial.join("package.json"), &manifest)?;
        std::fs::write(partial.join("package-lock.json"), &lock)?;
        let mut npm = Command::new("npm");
        npm.current_dir(partial).args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]);
        run(&mut npm, &format!("npm ci for {what}")).map(drop)
    })?;
    if !entry.is_file() {
        bail!("npm ci finished but {} is missing", entry.display());
    }
    Ok(entry)
}

/// `python3 -m pip install --target <partial> <requirement>` from PyPI,
/// binary wheels only, with `extra` flags: the fill of an [`install_into`].
///
/// # Errors
/// pip fails.
pub(super) fn pip_install_target(partial: &Path, requirement: &str, extra: &[&str]) -> Result<()> {
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "install", "--disable-pip-version-check"])
        .args(extra)
        .arg("--target")
        .arg(partial)
        .arg(requirement);
    run(&mut pip, &format!("python3 -m pip install {requirement}")).map(drop)
}

/// Whether `python3 -m pip` works (it fetches toolchains from PyPI).
pub(super) fn pip_available() -> bool {
    Command::new("python3")
        .args(["-m", "pip", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_embedded_http_and_component_carry_workloads_that_use_dapr() {
        assert!(carries(Flavour::Embedded, false) && carries(Flavour::Http, false));
        assert!(carries(Flavour::Component, false));
        assert!(!carries(Flavour::Middleware, false) && !carries(Flavour::Command, false));
        assert!(FLAVOURS.iter().all(|f| carries(*f, true)));
    }

    #[test]
    fn a_failed_tool_reports_its_output() {
        let err = run(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            "the test tool",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("the test tool failed") && err.contains("out") && err.contains("err"),
            "{err}"
        );
    }

    #[test]
    fn a_failed_install_leaves_no_folder_behind() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("tool");
        assert!(install_into(&dir, "a tool", |_| bail!("no network")).is_err());
        assert!(!dir.exists());
        install_into(&dir, "a tool", |partial| {
            Ok(std::fs::write(partial.join("bin"), "x")?)
        })
        .unwrap();
        assert!(dir.join("bin").is_file());
    }

    #[test]
    fn an_npm_install_is_keyed_by_its_pin_and_reused() {
        if Command::new("npm").arg("--version").output().is_err() {
            return; // the languages that need npm say so themselves
        }
        let src = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let pin = |version: &str| {
            std::fs::write(
                src.path().join("package.json"),
                format!(r#"{{"name":"t","version":"{version}"}}"#),
            )
            .unwrap();
            std::fs::write(
                src.path().join("package-lock.json"),
                format!(r#"{{"name":"t","version":"{version}","lockfileVersion":3,"packages":{{"":{{"name":"t","version":"{version}"}}}}}}"#),
            )
            .unwrap();
        };
        pin("1.0.0");
        let first = npm_ci(
            src.path(),
            root.path(),
            "t-",
            "package-lock.json",
            "a test package",
        )
        .unwrap();
        assert!(first.starts_with(root.path()) && first.is_file());
        assert_eq!(
            npm_ci(src.path(), root.path(), "t-", "package-lock.json", "again").unwrap(),
            first
        );
        pin("1.0.1");
        let second = npm_ci(src.path(), root.path(), "t-", "package-lock.json", "a new pin").unwrap();
        assert_ne!(second, first, "a new pin gets its own folder");
        let missing = npm_ci(
            src.path(),
            root.path(),
            "u-",
            "node_modules/x/index.js",
            "a package without x",
        );
        assert!(missing.unwrap_err().to_string().contains("is missing"));
    }
}
