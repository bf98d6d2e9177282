//! Records the Wasmer (and `wasmer-wasix`) versions Cargo resolved, for
//! results and `list`.
fn main() {
    blueprint_runtime_api::build_support::export_locked_version("wasmer");
    blueprint_runtime_api::build_support::export_locked_version_as("wasmer-wasix", "BLUEPRINT_WASIX_VERSION");
}
