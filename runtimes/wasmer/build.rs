//! Records the Wasmer (and `wasmer-wasix`) versions Cargo resolved, for
//! results and `list`.
fn main() {
    blueprint_runtime_api::build_support::export_locked_version("wasmer");
    let lock = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let wasix = blueprint_runtime_api::build_support::locked_version(&text, "wasmer-wasix");
    println!(
        "cargo:rustc-env=BLUEPRINT_WASIX_VERSION={}",
        wasix.as_deref().unwrap_or("unknown")
    );
}
