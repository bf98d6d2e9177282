//! Tells the tests which target triple this build runs on (to run the guest
//! library's unit tests natively).
fn main() {
    println!(
        "cargo:rustc-env=BLUEPRINT_HOST_TARGET={}",
        std::env::var("TARGET").unwrap_or_default()
    );
}
