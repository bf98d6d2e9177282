//! The `command` flavour: a WASI command for daprd's `bindings.wasm` that
//! reads the whole request from stdin, runs the workload once and writes the
//! response to stdout (exit 0), or the guest error to stderr (exit 1).

use std::io::{Read, Write};
use std::process::ExitCode;

use blueprint_js::engine::Engine;

fn main() -> ExitCode {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("reading stdin: {e}");
        return ExitCode::FAILURE;
    }
    match Engine::new().and_then(|engine| engine.call(&input)) {
        Ok(output) => match std::io::stdout().write_all(&output) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("writing stdout: {e}");
                ExitCode::FAILURE
            }
        },
        Err(message) => {
            eprint!("{message}");
            ExitCode::FAILURE
        }
    }
}
