//! The golden vectors in `workloads/vectors/`: one file per workload, shared
//! by every language, runtime and mode. Read by the one reader, in
//! `blueprint-workloads`, which the runtime adapters' tests share; it also
//! keeps the one list of workloads not every language implements.

pub use blueprint_workloads::vectors::{
    Case, Expected, PARTIAL_WORKLOADS, VectorFile, implemented_in, known_workloads, languages_of,
    load_vectors, vectors_dir,
};
