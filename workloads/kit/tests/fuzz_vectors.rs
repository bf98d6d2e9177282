//! The golden-vector reader on hostile edits of the checked-in vectors: a
//! vector file, or an error naming the file, never a panic.

#[path = "../../../harness/tests/mutate/mod.rs"]
mod mutate;

use blueprint_workloads::{checkout_dir, known_workloads, read_vectors, vectors_dir};
use proptest::prelude::*;

/// (workload, text) of every vector file.
fn vectors() -> Vec<(String, String)> {
    let project = checkout_dir();
    known_workloads(&project)
        .expect("the checkout's vectors")
        .into_iter()
        .map(|name| {
            let path = vectors_dir(&project).join(format!("{name}.json"));
            let text = std::fs::read_to_string(&path).expect("vector text");
            (name, text)
        })
        .collect()
}

proptest! {
    #![proptest_config(mutate::config(512))]

    #[test]
    fn edited_vectors_are_read_or_named_errors(
        (name, text) in prop::sample::select(vectors()).prop_flat_map(|(name, text)| {
            (Just(name), mutate::mutated(&text))
        })
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, &text).expect("write");
        match read_vectors(&path, &name) {
            Ok(file) => {
                for case in &file.cases {
                    prop_assert!(case.input_bytes().is_ok() && case.expected().is_ok());
                }
            }
            Err(err) => {
                let message = format!("{err:#}");
                prop_assert!(message.contains(&path.display().to_string()), "{message}");
            }
        }
    }
}
