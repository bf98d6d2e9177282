//! Embeds the workload named by `BLUEPRINT_JS_WORKLOAD` (a path to a `.js`
//! file) into the engine as `$OUT_DIR/workload.js`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=BLUEPRINT_JS_WORKLOAD");
    let Some(source) = std::env::var_os("BLUEPRINT_JS_WORKLOAD") else {
        panic!(
            "BLUEPRINT_JS_WORKLOAD is not set: it names the workload's .js file to build in \
             (e.g. BLUEPRINT_JS_WORKLOAD=$PWD/noop/noop.js)"
        );
    };
    let source = PathBuf::from(source);
    println!("cargo:rerun-if-changed={}", source.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let text = std::fs::read_to_string(&source)
        .unwrap_or_else(|e| panic!("reading BLUEPRINT_JS_WORKLOAD {}: {e}", source.display()));
    std::fs::write(out.join("workload.js"), text).expect("writing workload.js into OUT_DIR");
}
