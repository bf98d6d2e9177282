//! daprd's Prometheus endpoint, scraped before and after a measured window:
//! the differences of its request counters and latency buckets are stored
//! with the cell, so daprd's own view of the window can be set beside ours.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;

use crate::http::ControlClient;

/// Metric families kept: daprd's HTTP server (inbound), its HTTP client (to
/// the app), its gRPC server (the SDK's calls), service invocation and
/// component calls.
const KEPT_PREFIXES: &[&str] = &[
    "dapr_http_server_",
    "dapr_http_client_",
    "dapr_grpc_io_server_",
    "dapr_runtime_service_invocation_",
    "dapr_component_",
];

/// Series name with labels → value.
pub type Samples = BTreeMap<String, f64>;

/// Parses the Prometheus text format, keeping the families above.
pub fn parse(text: &str) -> Samples {
    text.lines()
        .filter(|l| !l.starts_with('#') && KEPT_PREFIXES.iter().any(|p| l.starts_with(p)))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse::<f64>().ok()?))
        })
        .collect()
}

/// Reads `http://127.0.0.1:<port>/metrics`.
///
/// # Errors
/// The endpoint does not answer.
pub async fn scrape(port: u16) -> Result<Samples> {
    let reply = ControlClient::default()
        .get(
            &format!("http://127.0.0.1:{port}/metrics"),
            Duration::from_secs(5),
        )
        .await?;
    Ok(parse(&reply.text()))
}

/// `after - before` for every series that changed.
pub fn delta(before: &Samples, after: &Samples) -> Samples {
    after
        .iter()
        .filter_map(|(series, value)| {
            let change = value - before.get(series).copied().unwrap_or(0.0);
            (change != 0.0).then(|| (series.clone(), change))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# HELP x\n# TYPE dapr_http_server_request_count counter\n\
        dapr_http_server_request_count{app_id=\"a\",method=\"POST\",path=\"/v1.0/invoke\",status=\"200\"} 5\n\
        go_goroutines 40\n\
        dapr_http_server_latency_bucket{le=\"1\"} 2\n";
    const AFTER: &str = "dapr_http_server_request_count{app_id=\"a\",method=\"POST\",path=\"/v1.0/invoke\",status=\"200\"} 105\n\
        go_goroutines 90\n\
        dapr_http_server_latency_bucket{le=\"1\"} 2\n\
        dapr_http_client_completed_count{status=\"200\"} 100\n";

    #[test]
    fn keeps_dapr_families_and_differences_only() {
        let (before, after) = (parse(BEFORE), parse(AFTER));
        assert!(!before.keys().any(|k| k.starts_with("go_")));
        let d = delta(&before, &after);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d.values().copied().collect::<Vec<_>>(), vec![100.0, 100.0]);
    }
}
