//! The `command` flavour: a WASI command for daprd's `bindings.wasm`
//! (operation `execute`), which instantiates the module per call with the
//! request data as stdin and returns its stdout.
//!
//! `_start` reads all of stdin, runs the workload, writes the output to
//! stdout and returns (exit code 0). A guest error writes the message to
//! stderr and exits with code 1, which daprd reports as a failed invocation.

use std::io::{Read, Write};

/// Runs one request from stdin to stdout.
pub fn run(handler: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>) {
    let mut input = Vec::new();
    let result = match std::io::stdin().read_to_end(&mut input) {
        Ok(_) => handler(&input),
        Err(err) => Err(format!("reading stdin: {err}")),
    };
    let written = match result {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&output).and_then(|()| stdout.flush())
        }
        Err(message) => Err(std::io::Error::other(message)),
    };
    if let Err(err) = written {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(err.to_string().as_bytes());
        let _ = stderr.flush();
        std::process::exit(1);
    }
}
