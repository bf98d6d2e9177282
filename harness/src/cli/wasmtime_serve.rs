//! `blueprint-bench wasmtime-serve`: find or build `wasmtime serve`, the
//! server of the `wasmtime-serve` runtime (`crate::wasmtime_cli`).

use anyhow::Result;

use crate::{paths, wasmtime_cli};

/// Flags of `wasmtime-serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct WasmtimeServeArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `wasmtime-serve`.
///
/// # Errors
/// It is not built and cannot be (cargo's output says why).
pub fn execute(args: WasmtimeServeArgs) -> Result<i32> {
    let path = wasmtime_cli::build(&paths::cache_dir())?;
    if args.json {
        let found = serde_json::json!({
            "path": path,
            "version": wasmtime_cli::version(),
            "features": wasmtime_cli::FEATURES,
        });
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        println!("{} (wasmtime-cli {})", path.display(), wasmtime_cli::version());
    }
    Ok(0)
}
