//! The scenarios on Kubernetes, with Dapr's sidecar injector: manifests per
//! cell ([`render`]), the load pods' outputs merged ([`merge`]) and read back
//! with the pods' CPU and memory into the results schema ([`collect`]).
//!
//! The load generator only talks to loopback, so on a cluster it does what
//! Dapr's own performance tests do with Fortio: it runs in a tester pod with
//! its own sidecar and calls that sidecar on 127.0.0.1, which invokes the app
//! on the same node; the direct baseline runs the app inside the load pod.
//! `docs/kubernetes.md` is the runbook.

pub mod collect;
pub mod merge;
pub mod render;
pub mod yaml;

/// Label keys and values shared by [`render`] and [`collect`].
pub mod labels {
    /// The cell's index in the rendered plan (`000`, `001`, …).
    pub const CELL: &str = "blueprint-bench/cell";
    /// `app`, `load` or `baseline`.
    pub const ROLE: &str = "blueprint-bench/role";
    /// Trial number.
    pub const TRIAL: &str = "blueprint-bench/trial";
    /// `closed`, or the open-loop rate in requests per second.
    pub const LOOP: &str = "blueprint-bench/loop";
    /// Marks the ConfigMaps holding metrics snapshots.
    pub const METRICS: &str = "blueprint-bench/metrics";
    /// Annotation with the cell id as JSON.
    pub const CELL_ID: &str = "blueprint-bench/cell-id";
    /// Name of the ConfigMap holding the rendered plan.
    pub const PLAN_CONFIGMAP: &str = "blueprint-bench-plan";
    /// The container running `blueprint-bench load`.
    pub const LOAD_CONTAINER: &str = "load";
    /// The container running the app.
    pub const APP_CONTAINER: &str = "app";
    /// The container Dapr's injector adds.
    pub const DAPRD_CONTAINER: &str = "daprd";
}
