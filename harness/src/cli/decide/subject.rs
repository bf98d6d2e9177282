//! What `decide` is asked about: a built-in workload (`--workload NAME`), or
//! one a scenario brings (`--scenario-workload FILE:NAME`, the user's own
//! modules). Either is checked before anything is planned: an unknown name
//! or a module that does not fit its flavour is an error naming the file.
//!
//! A scenario's own workload is copied into the decision's folder (modules,
//! vectors, request body), so the generated scenarios there re-run with
//! `blueprint-bench run` even after the original files move.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use blueprint_analysis::modes::Mode;
use blueprint_analysis::results;

use crate::paths;
use crate::scenario;
use crate::workloads::{self, CUSTOM_LANGUAGE, CustomWorkload, Flavour};

/// The workload a decision is about.
#[derive(Debug)]
pub struct Subject {
    /// Its name in the matrix and the results.
    pub name: String,
    /// False when it uses Dapr (guests inside daprd cannot serve it).
    pub pure: bool,
    /// The scenario's own workload, when it is one.
    own: Option<Own>,
}

/// A workload from a scenario's `[workloads.<name>]`.
#[derive(Debug)]
struct Own {
    /// The scenario it came from.
    scenario: PathBuf,
    /// Its modules (absolute paths) and vectors, checked.
    workload: CustomWorkload,
    /// The scenario's `[inputs.<name>]` body, when it gives one.
    input: Option<Vec<u8>>,
    /// SHA-256 of each module as given now, read once: what earlier cells
    /// recorded must match it to be reused.
    sha256: BTreeMap<Flavour, String>,
}

/// The folder, inside a decision's folder, that holds a copied workload.
const COPIED: &str = "workload";

impl Subject {
    /// The built-in workload `name`, or the one `FILE:NAME` names.
    ///
    /// # Errors
    /// An unknown workload, a `FILE:NAME` without a colon, a scenario that
    /// does not parse (file, line and field) or has no such workload.
    pub fn resolve(workload: Option<&str>, scenario_workload: Option<&str>) -> Result<Self> {
        let project = paths::project_dir();
        let built_in = workloads::known_workloads(&project)?;
        match (workload, scenario_workload) {
            (Some(name), None) => {
                if !built_in.iter().any(|w| w == name) {
                    bail!(
                        "unknown workload `{name}` (built in: {}); for your own module give \
                         --scenario-workload FILE:NAME (a scenario with [workloads.NAME])",
                        built_in.join(", ")
                    );
                }
                Ok(Self {
                    name: name.to_owned(),
                    pure: workloads::load_vectors(&project, name)?.pure,
                    own: None,
                })
            }
            (None, Some(given)) => {
                let Some((file, name)) = given
                    .rsplit_once(':')
                    .filter(|(f, n)| !f.is_empty() && !n.is_empty())
                else {
                    bail!(
                        "--scenario-workload takes FILE:NAME (a scenario and one of its [workloads.NAME]), \
                         e.g. scenarios/custom/example.toml:upper; got `{given}`"
                    );
                };
                let file = PathBuf::from(file);
                let mut plan = scenario::load(&file, &built_in, &blueprint_host::table::names())?;
                let Some(workload) = plan.custom.remove(name) else {
                    let theirs: Vec<&str> = plan.custom.keys().map(String::as_str).collect();
                    bail!(
                        "{} has no [workloads.{name}]{}",
                        file.display(),
                        if theirs.is_empty() {
                            String::new()
                        } else {
                            format!("; it has: {}", theirs.join(", "))
                        }
                    );
                };
                Ok(Self {
                    name: name.to_owned(),
                    pure: workload.pure,
                    own: Some(Own {
                        scenario: file,
                        input: plan.inputs.remove(name),
                        sha256: workload
                            .modules
                            .iter()
                            .filter_map(|(f, path)| Some((*f, workloads::file_sha256(path)?)))
                            .collect(),
                        workload,
                    }),
                })
            }
            _ => bail!("give one of --workload NAME and --scenario-workload FILE:NAME"),
        }
    }

    /// The guest languages to measure: those asked for, or for a scenario's
    /// own workload its one module set (language `custom`).
    pub fn languages(&self, asked: &[String]) -> Vec<String> {
        match self.own {
            Some(_) => vec![CUSTOM_LANGUAGE.to_owned()],
            None => asked.to_vec(),
        }
    }

    /// The language the answer is about, when there is one.
    pub fn language(&self, asked: &[String]) -> Option<String> {
        let languages = self.languages(asked);
        (languages.len() == 1).then(|| languages[0].clone())
    }

    /// Why `mode` cannot serve this workload whatever it is asked to do: it
    /// uses Dapr and the mode's guest cannot reach it, or no module of the
    /// mode's flavour was given.
    pub fn cannot(&self, mode: Mode) -> Option<String> {
        if !self.pure && mode.pure_only() {
            return Some(crate::blueprint::side_effects(&self.name));
        }
        let own = self.own.as_ref()?;
        mode.flavour().and_then(|f| own.workload.missing(f))
    }

    /// Whether an earlier cell of this workload in `mode` ran the module
    /// given now: always for a built-in workload (the revision decides its
    /// modules); for a scenario's own, only when the module file's SHA-256
    /// is the recorded one (a rebuilt module is another workload).
    pub fn same_module(&self, mode: Mode, recorded: Option<&str>) -> bool {
        let Some(own) = &self.own else {
            return true;
        };
        let now = mode.flavour().and_then(|f| own.sha256.get(&f));
        now.is_some() && now.map(String::as_str) == recorded
    }

    /// Where a scenario's own workload came from, for the plan.
    pub fn origin(&self) -> Option<String> {
        self.own.as_ref().map(|own| {
            let modules: Vec<String> = own.workload.modules.keys().map(ToString::to_string).collect();
            format!(
                "`{}` from {} ({} module(s): {})",
                self.name,
                own.scenario.display(),
                modules.len(),
                modules.join(", ")
            )
        })
    }

    /// Copies a scenario's own workload into `out` and returns the tables
    /// every generated scenario there carries (`[workloads.<name>]` and its
    /// `[inputs.<name>]`); nothing for a built-in workload.
    ///
    /// # Errors
    /// A file that cannot be copied or written.
    pub fn copy_into(&self, out: &Path) -> Result<String> {
        let Some(own) = &self.own else {
            return Ok(String::new());
        };
        let folder = out.join(COPIED);
        std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
        let mut toml = format!("\n[workloads.{}]\npure = {}\n", self.name, self.pure);
        for (flavour, module) in &own.workload.modules {
            let copy = format!("{flavour}.wasm");
            std::fs::copy(module, folder.join(&copy))
                .with_context(|| format!("copying {} into {}", module.display(), folder.display()))?;
            let _ = writeln!(toml, "{flavour} = \"{COPIED}/{copy}\"");
        }
        if let Some(vectors) = &own.workload.vectors {
            results::write_atomic(&folder.join("vectors.json"), vectors)?;
            let _ = writeln!(toml, "vectors = \"{COPIED}/vectors.json\"");
        }
        if let Some(input) = &own.input {
            results::write_bytes_atomic(&folder.join("input"), input)?;
            let _ = writeln!(toml, "\n[inputs.{}]\nfile = \"{COPIED}/input\"", self.name);
        }
        Ok(toml)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_in_workload_or_file_colon_name_and_nothing_else() {
        let counter = Subject::resolve(Some("counter"), None).unwrap();
        assert!(!counter.pure, "counter keeps state");
        assert_eq!(
            counter.cannot(Mode::Middleware).unwrap(),
            "side effects: `counter` uses Dapr, and Wasm inside daprd cannot reach it (the talk: no side \
             effects in middleware)"
        );
        assert_eq!(counter.cannot(Mode::Embedded), None);
        assert_eq!(counter.languages(&["go".into()]), ["go"]);

        let err = Subject::resolve(Some("nope"), None).unwrap_err().to_string();
        assert!(
            err.contains("unknown workload `nope`") && err.contains("counter"),
            "{err}"
        );
        let err = Subject::resolve(None, Some("scenarios/custom/example.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("FILE:NAME"), "{err}");
        let err = Subject::resolve(None, Some("/no/such/scenario.toml:mine")).unwrap_err();
        assert!(format!("{err:#}").contains("/no/such/scenario.toml"), "{err:#}");
    }

    #[test]
    fn a_scenarios_own_workload_names_its_missing_modules_and_is_copied_whole() {
        let dir = tempfile::tempdir().unwrap();
        // The smallest command module: reads nothing, writes nothing.
        let module =
            wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "_start")))"#).unwrap();
        std::fs::write(dir.path().join("cmd.wasm"), module).unwrap();
        let scenario = dir.path().join("mine.toml");
        std::fs::write(
            &scenario,
            "[scenario]\nname = \"mine\"\n\n[workloads.mine]\ncommand = \"cmd.wasm\"\n\n[inputs.mine]\ntext = \"hello\"\n\n\
             [matrix]\nworkloads = [\"mine\"]\nmodes = [\"binding\"]\nruntimes = [\"wasmtime\"]\n\n\
             [load]\nconnections = 1\nwarmup = \"100ms\"\nduration = \"100ms\"\n",
        )
        .unwrap();
        let given = format!("{}:mine", scenario.display());
        let mine = Subject::resolve(None, Some(&given)).unwrap();
        assert!(mine.pure);
        assert_eq!(mine.languages(&["rust".into(), "go".into()]), [CUSTOM_LANGUAGE]);
        assert_eq!(
            mine.cannot(Mode::Embedded).unwrap(),
            "no `embedded` module given for custom workload `mine`"
        );
        assert_eq!(mine.cannot(Mode::Binding), None);
        let err = Subject::resolve(None, Some(&format!("{}:other", scenario.display())))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no [workloads.other]") && err.contains("it has: mine"),
            "{err}"
        );

        let out = dir.path().join("out");
        let tables = mine.copy_into(&out).unwrap();
        assert!(tables.contains("command = \"workload/command.wasm\""), "{tables}");
        assert!(
            tables.contains("[inputs.mine]\nfile = \"workload/input\""),
            "{tables}"
        );
        assert_eq!(std::fs::read(out.join("workload/input")).unwrap(), b"hello");
        assert!(out.join("workload/command.wasm").is_file());
    }
}
