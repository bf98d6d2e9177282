//! The Rust targets the guests are built for, installed in user space on
//! first use: a brand-new machine with rustup needs no manual step, and one
//! without rustup gets the exact command instead of a failure half an hour
//! into a run.

use std::process::Command;
use std::sync::Mutex;

use super::Missing;
use crate::progress;

/// Targets rustup reports as installed for the active toolchain.
fn installed() -> Option<Vec<String>> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    })
}

/// Whether rustc knows `target` without rustup (a distribution's Rust that
/// ships the wasm standard libraries).
fn sysroot_has(target: &str) -> bool {
    let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    std::path::Path::new(&sysroot)
        .join("lib/rustlib")
        .join(target)
        .is_dir()
}

/// Makes sure every target in `targets` is installed, adding the missing ones
/// with `rustup target add` (a progress line each; a few seconds to a minute).
///
/// # Errors
/// No rustup to add a missing target with, or `rustup target add` failed:
/// what is missing and the command that installs it.
pub fn ensure_targets(targets: &[&str]) -> Result<(), Missing> {
    // Two commands at once would both try to install; one does, the other waits.
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let install = format!("rustup target add {}", targets.join(" "));
    let Some(have) = installed() else {
        if targets.iter().all(|t| sysroot_has(t)) {
            return Ok(());
        }
        return Err(Missing {
            reason: format!(
                "the Rust targets {} are not installed and rustup is not on PATH",
                targets.join(", ")
            ),
            install: format!("install rustup (https://rustup.rs), then `{install}`"),
        });
    };
    let missing: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| !have.iter().any(|h| h == t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let bar = progress::spinner(format!(
        "adding the Rust targets {} (rustup, first run only)",
        missing.join(", ")
    ));
    let out = Command::new("rustup")
        .args(["target", "add"])
        .args(&missing)
        .output();
    bar.finish_and_clear();
    match out {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(Missing {
            reason: format!(
                "`rustup target add {}` failed: {}",
                missing.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            install,
        }),
        Err(err) => Err(Missing {
            reason: format!("running rustup: {err}"),
            install,
        }),
    }
}
