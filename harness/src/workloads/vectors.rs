//! The golden vectors in `workloads/vectors/`: one file per workload, shared
//! by every language, runtime and mode. Read by the one reader, in
//! `blueprint-workloads`, which the runtime adapters' tests share.

pub use blueprint_workloads::vectors::{
    Case, Expected, VectorFile, known_workloads, load_vectors, vectors_dir,
};
