//! `noop` workload (workloads/ABI.md): returns its input unchanged.
//!
//! It touches no Dapr API, so it measures the fixed cost of one call: the
//! host's instantiation, the request copy in and the response copy out.

/// The workload's handler: the input, unchanged.
///
/// # Errors
/// Never.
pub fn handle(input: &[u8]) -> Result<Vec<u8>, String> {
    Ok(input.to_vec())
}

blueprint_guest::workload!(handle);
