//! Records the Wasmer version Cargo resolved, for results and `list`.
fn main() {
    blueprint_runtime_api::build_support::export_locked_version("wasmer");
}
