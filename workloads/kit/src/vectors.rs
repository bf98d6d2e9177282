//! The golden vectors in `workloads/vectors/`: one file per workload, shared
//! by every language, runtime and mode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

/// The expected behaviour of one workload, shared by every language.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    /// Workload name.
    pub workload: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// True when it touches no Dapr API (may run as middleware or binding).
    pub pure: bool,
    /// Cases, run in order on one initially empty store.
    pub cases: Vec<Case>,
    /// Keys that must hold these values afterwards.
    #[serde(default)]
    pub final_state: BTreeMap<String, String>,
    /// Events the cases publish, in the order the succeeding cases publish
    /// them (`workloads/ABI.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<PublishedEvent>,
}

/// One event a workload publishes, as a subscriber receives it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedEvent {
    /// Pub/sub component name.
    #[serde(default = "default_pubsub")]
    pub pubsub: String,
    /// Topic.
    pub topic: String,
    /// Content type the workload gave.
    #[serde(default = "default_content_type")]
    pub content_type: String,
    /// The event's data (UTF-8).
    pub data: String,
}

fn default_pubsub() -> String {
    "pubsub".into()
}

fn default_content_type() -> String {
    "application/json".into()
}

/// One input and what must come of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Case name, for messages.
    pub name: String,
    /// UTF-8 input.
    #[serde(default)]
    pub input: Option<String>,
    /// Binary input.
    #[serde(default)]
    pub input_base64: Option<String>,
    /// Expected UTF-8 output.
    #[serde(default)]
    pub output: Option<String>,
    /// Expected binary output.
    #[serde(default)]
    pub output_base64: Option<String>,
    /// Expected guest error message.
    #[serde(default)]
    pub error: Option<String>,
}

/// What a case must produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// These bytes.
    Output(Vec<u8>),
    /// A guest error with this message.
    Error(String),
}

impl Expected {
    /// The output as `Ok`, the guest error message as `Err`: the shape of a
    /// call's answer, for comparing with one.
    pub fn into_result(self) -> std::result::Result<Vec<u8>, String> {
        match self {
            Expected::Output(bytes) => Ok(bytes),
            Expected::Error(message) => Err(message),
        }
    }
}

impl Case {
    /// The input bytes.
    ///
    /// # Errors
    /// Neither or both of `input`/`input_base64`, or bad base64.
    pub fn input_bytes(&self) -> Result<Vec<u8>> {
        match (&self.input, &self.input_base64) {
            (Some(text), None) => Ok(text.as_bytes().to_vec()),
            (None, Some(b64)) => B64
                .decode(b64)
                .with_context(|| format!("case `{}`: input_base64", self.name)),
            _ => bail!("case `{}`: give exactly one of input, input_base64", self.name),
        }
    }

    /// The expected outcome.
    ///
    /// # Errors
    /// Not exactly one of `output`, `output_base64`, `error`, or bad base64.
    pub fn expected(&self) -> Result<Expected> {
        match (&self.output, &self.output_base64, &self.error) {
            (Some(text), None, None) => Ok(Expected::Output(text.as_bytes().to_vec())),
            (None, Some(b64), None) => {
                Ok(Expected::Output(B64.decode(b64).with_context(|| {
                    format!("case `{}`: output_base64", self.name)
                })?))
            }
            (None, None, Some(message)) => Ok(Expected::Error(message.clone())),
            _ => bail!(
                "case `{}`: give exactly one of output, output_base64, error",
                self.name
            ),
        }
    }
}

/// The vectors directory of a project checkout.
pub fn vectors_dir(project: &Path) -> PathBuf {
    project.join("workloads").join("vectors")
}

/// Reads `workloads/vectors/<name>.json`.
///
/// # Errors
/// Missing or malformed file (named in the message).
pub fn load_vectors(project: &Path, name: &str) -> Result<VectorFile> {
    read_vectors(&vectors_dir(project).join(format!("{name}.json")), name)
}

/// Reads the vectors of workload `name` from any file of this schema (a
/// scenario's own workloads keep theirs next to the scenario).
///
/// # Errors
/// Missing or malformed file (named in the message).
pub fn read_vectors(path: &Path, name: &str) -> Result<VectorFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: VectorFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if file.workload != name {
        bail!(
            "{}: says workload `{}`, expected `{name}`",
            path.display(),
            file.workload
        );
    }
    for case in &file.cases {
        case.input_bytes().with_context(|| path.display().to_string())?;
        case.expected().with_context(|| path.display().to_string())?;
    }
    Ok(file)
}

/// The workloads that have vectors, sorted.
///
/// # Errors
/// The vectors folder cannot be read.
pub fn known_workloads(project: &Path) -> Result<Vec<String>> {
    let dir = vectors_dir(project);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

/// The built-in workloads that not every language implements, each with the
/// languages that do; every other workload is written in every language.
/// This is the one list of who has what: builders still find a workload by
/// its folder (`workloads/<language>/<workload>/`), and a test checks the
/// folders against this list, so a missing implementation is a failure
/// rather than a quietly skipped cell.
pub const PARTIAL_WORKLOADS: &[(&str, &[&str])] = &[
    // The talk's per-call-overhead and state-cache workloads.
    ("fanout", &["rust", "go", "c"]),
    ("fanout-bulk", &["rust", "go", "c"]),
    ("lookup", &["rust", "go", "c"]),
];

/// The languages that implement built-in `workload`, or `None` when every
/// language does.
pub fn languages_of(workload: &str) -> Option<&'static [&'static str]> {
    PARTIAL_WORKLOADS
        .iter()
        .find(|(name, _)| *name == workload)
        .map(|(_, languages)| *languages)
}

/// Whether `language` implements built-in `workload` ([`PARTIAL_WORKLOADS`]).
pub fn implemented_in(workload: &str, language: &str) -> bool {
    languages_of(workload).is_none_or(|languages| languages.contains(&language))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(json: &str) -> Case {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn cases_need_exactly_one_input_and_one_outcome() {
        let ok = case(r#"{"name":"a","input":"x","output":"y"}"#);
        assert_eq!(ok.input_bytes().unwrap(), b"x");
        assert_eq!(ok.expected().unwrap(), Expected::Output(b"y".to_vec()));
        let bin = case(r#"{"name":"b","input_base64":"AAE=","error":"no"}"#);
        assert_eq!(bin.input_bytes().unwrap(), vec![0, 1]);
        assert_eq!(bin.expected().unwrap(), Expected::Error("no".into()));
        assert!(case(r#"{"name":"c","output":"y"}"#).input_bytes().is_err());
        assert!(
            case(r#"{"name":"d","input":"x","output":"y","error":"e"}"#)
                .expected()
                .is_err()
        );
    }

    #[test]
    fn the_checked_in_vectors_parse() {
        let project = crate::checkout_dir();
        let names = known_workloads(&project).unwrap();
        assert!(names.contains(&"noop".to_owned()) && names.contains(&"counter".to_owned()));
        for name in names {
            load_vectors(&project, &name).unwrap();
        }
    }

    #[test]
    fn every_language_folder_has_exactly_the_workloads_the_list_gives_it() {
        let project = crate::checkout_dir();
        let workloads = known_workloads(&project).unwrap();
        for (name, _) in PARTIAL_WORKLOADS {
            assert!(workloads.iter().any(|w| w == name), "`{name}` has no vectors");
        }
        let mut languages: Vec<String> = std::fs::read_dir(project.join("workloads"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir() && e.path().join("noop").is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        languages.sort();
        assert!(
            languages.len() >= 7,
            "language folders look missing: {languages:?}"
        );
        for language in &languages {
            for workload in &workloads {
                let folder = project.join("workloads").join(language).join(workload);
                assert_eq!(
                    folder.is_dir(),
                    implemented_in(workload, language),
                    "{}: PARTIAL_WORKLOADS says {language} {} `{workload}`",
                    folder.display(),
                    if implemented_in(workload, language) {
                        "has"
                    } else {
                        "has no"
                    }
                );
            }
        }
        assert_eq!(languages_of("counter"), None);
        assert!(implemented_in("fanout", "go") && !implemented_in("fanout", "zig"));
    }

    #[test]
    fn a_missing_workload_is_named_in_the_error() {
        let err = load_vectors(&crate::checkout_dir(), "no-such-workload").unwrap_err();
        assert!(format!("{err:#}").contains("no-such-workload.json"), "{err:#}");
    }
}
