//! Records the `wasmedge-sdk` version Cargo resolved and probes for an
//! installed WasmEdge library, so that a build without the `wasmedge` feature
//! can say exactly what is missing, and a build with it can run its tests
//! without `LD_LIBRARY_PATH`.
//!
//! The probe looks where `wasmedge-sys` (the sdk's binding crate) looks, in
//! the same order, and accepts a location the same way (the header
//! `include/wasmedge/wasmedge.h` and the library directory both exist).

use std::path::{Path, PathBuf};

/// Environment variables `wasmedge-sys` reads to find the library.
const ENV_VARS: [&str; 5] = [
    "WASMEDGE_INCLUDE_DIR",
    "WASMEDGE_LIB_DIR",
    "WASMEDGE_DIR",
    "WASMEDGE_BUILD_DIR",
    "HOME",
];

struct Candidate {
    /// How the location was chosen, for messages (`$WASMEDGE_DIR=/opt/we`).
    origin: String,
    /// The environment a rebuild needs to find it again (`WASMEDGE_DIR=/opt/we`).
    env: String,
    include: PathBuf,
    lib: PathBuf,
}

fn add(out: &mut Vec<Candidate>, (origin, env): (String, String), base: &Path, include: &str, libs: &[&str]) {
    for lib in libs {
        out.push(Candidate {
            origin: origin.clone(),
            env: env.clone(),
            include: base.join(include),
            lib: base.join(lib),
        });
    }
}

fn candidates() -> Vec<Candidate> {
    let env = |name: &str| std::env::var_os(name).map(PathBuf::from);
    let mut out = Vec::new();
    if let (Some(include), Some(lib)) = (env("WASMEDGE_INCLUDE_DIR"), env("WASMEDGE_LIB_DIR")) {
        out.push(Candidate {
            origin: format!(
                "$WASMEDGE_INCLUDE_DIR={} and $WASMEDGE_LIB_DIR={}",
                include.display(),
                lib.display()
            ),
            env: format!(
                "WASMEDGE_INCLUDE_DIR={} WASMEDGE_LIB_DIR={}",
                include.display(),
                lib.display()
            ),
            include,
            lib,
        });
    }
    if let Some(dir) = env("WASMEDGE_DIR") {
        let origin = (
            format!("$WASMEDGE_DIR={}", dir.display()),
            format!("WASMEDGE_DIR={}", dir.display()),
        );
        add(&mut out, origin, &dir, "include", &["lib64", "lib"]);
    }
    if let Some(dir) = env("WASMEDGE_BUILD_DIR") {
        let origin = (
            format!("$WASMEDGE_BUILD_DIR={}", dir.display()),
            format!("WASMEDGE_BUILD_DIR={}", dir.display()),
        );
        add(&mut out, origin, &dir, "include/api", &["lib64/api", "lib/api"]);
    }
    // The default prefixes, in `wasmedge-sys`'s order; nothing to export
    // for a rebuild to find them again.
    let home = env("HOME");
    let prefixes = [
        home.as_ref().map(|home| home.join(".wasmedge")),
        Some(PathBuf::from("/usr/local")),
        home.map(|home| home.join(".local")),
    ];
    for dir in prefixes.into_iter().flatten() {
        add(
            &mut out,
            (dir.display().to_string(), String::new()),
            &dir,
            "include",
            &["lib64", "lib"],
        );
    }
    out
}

/// The version string in `wasmedge/version.h`, e.g. `0.17.1`.
fn header_version(include: &Path) -> Option<String> {
    let text = std::fs::read_to_string(include.join("wasmedge/version.h")).ok()?;
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("#define WASMEDGE_VERSION ")?;
        Some(rest.trim().trim_matches('"').to_owned())
    })
}

fn has_shared_library(lib: &Path) -> bool {
    std::fs::read_dir(lib).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libwasmedge.so"))
    })
}

fn main() {
    blueprint_runtime_api::build_support::export_locked_version("wasmedge-sdk");
    for var in ENV_VARS {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let all = candidates();
    let searched: Vec<String> = {
        let mut seen = Vec::new();
        for c in &all {
            if !seen.contains(&c.origin) {
                seen.push(c.origin.clone());
            }
        }
        seen
    };
    let found = all
        .iter()
        .find(|c| c.include.join("wasmedge/wasmedge.h").is_file() && c.lib.is_dir());
    // Re-probe when the install that was found changes.
    if let Some(c) = found {
        println!(
            "cargo:rerun-if-changed={}",
            c.include.join("wasmedge/version.h").display()
        );
    }
    let (found_lib, found_version, found_origin, found_env) = match found {
        Some(c) => (
            c.lib.display().to_string(),
            header_version(&c.include).unwrap_or_else(|| "unknown".into()),
            c.origin.clone(),
            c.env.clone(),
        ),
        None => Default::default(),
    };
    let shared = found.is_some_and(|c| has_shared_library(&c.lib));
    println!("cargo:rustc-env=BLUEPRINT_WASMEDGE_FOUND_LIB={found_lib}");
    println!("cargo:rustc-env=BLUEPRINT_WASMEDGE_FOUND_VERSION={found_version}");
    println!("cargo:rustc-env=BLUEPRINT_WASMEDGE_FOUND_ORIGIN={found_origin}");
    println!("cargo:rustc-env=BLUEPRINT_WASMEDGE_FOUND_ENV={found_env}");
    println!(
        "cargo:rustc-env=BLUEPRINT_WASMEDGE_FOUND_SHARED={}",
        if shared { "1" } else { "" }
    );
    println!(
        "cargo:rustc-env=BLUEPRINT_WASMEDGE_SEARCHED={}",
        searched.join(", ")
    );

    // With the real adapter, this package's test binaries find the shared
    // library without LD_LIBRARY_PATH (wasmedge-sys links it dynamically and
    // sets no run-time path). Other binaries (the harness) need
    // LD_LIBRARY_PATH=<lib dir> or an rpath of their own.
    if std::env::var_os("CARGO_FEATURE_WASMEDGE").is_some() && shared {
        println!("cargo:rustc-link-arg-tests=-Wl,-rpath,{found_lib}");
    }
}
