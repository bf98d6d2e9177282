//! What the probes share: a checked line writer. Every probe prints plain
//! `key=value` lines that the test compares; a failed check prints
//! `FAIL: …` to stderr and exits 99, so a wrong answer can never look like
//! a pass.

/// Exits 99 with `FAIL: <what>` on stderr when `ok` is false.
pub fn check(ok: bool, what: &str) {
    if !ok {
        eprintln!("FAIL: {what}");
        std::process::exit(99);
    }
}

/// `random_get` straight from WASI preview 1, so the probe sees exactly what
/// the runtime gives (no std caching or fallback in between).
pub fn random_bytes(buf: &mut [u8]) -> u16 {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn random_get(buf: *mut u8, len: usize) -> u16;
    }
    // SAFETY: the pointer and length describe `buf`, which outlives the call.
    unsafe { random_get(buf.as_mut_ptr(), buf.len()) }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
