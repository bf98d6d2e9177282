//! `blueprint-bench k8s render|collect`: a scenario on Kubernetes with Dapr's
//! sidecar injector (`docs/kubernetes.md`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::k8s::collect::{CollectOptions, collect};
use crate::k8s::render::{RenderOptions, render};
use crate::{paths, scenario, workloads};

/// `k8s`.
#[derive(Debug, Args)]
pub struct K8sArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: K8sCommand,
}

/// `k8s` subcommands.
#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// Write the manifests, run.sh and PLAN.md of every cell of a scenario.
    Render(RenderArgs),
    /// Read a rendered run's load outputs and pod metrics into a results file.
    Collect(CollectArgs),
}

/// `k8s render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Registry of the `blueprint-bench` image (built from `Containerfile`).
    #[arg(long, default_value = "localhost:5000")]
    pub image_registry: String,
    /// Tag of the image.
    #[arg(long, default_value = "latest")]
    pub image_tag: String,
    /// Namespace of the run [default: bb-<scenario name>].
    #[arg(long)]
    pub namespace: Option<String>,
    /// Load pods per Job, each with an equal share of the connections or rate.
    #[arg(long, default_value_t = 1)]
    pub parallelism: usize,
}

/// `k8s collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// The run's namespace.
    #[arg(long)]
    pub namespace: String,
    /// The kubectl program.
    #[arg(long, default_value = "kubectl")]
    pub kubectl: PathBuf,
    /// Namespace of Dapr's control plane.
    #[arg(long, default_value = "dapr-system")]
    pub dapr_namespace: String,
    /// Results file [default: results/runs/<scenario>-k8s-<namespace>.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `k8s`.
///
/// # Errors
/// A scenario that does not validate, an unwritable folder, kubectl failing.
pub fn execute(args: K8sArgs) -> Result<i32> {
    match args.command {
        K8sCommand::Render(args) => {
            let project = paths::project_dir();
            let known = workloads::known_workloads(&project)?;
            let plan = scenario::load(&args.scenario, &known, &blueprint_host::table::names())?;
            let opts = RenderOptions {
                out: args.out.clone(),
                image_registry: args.image_registry,
                image_tag: args.image_tag,
                namespace: args.namespace,
                parallelism: args.parallelism,
            };
            let rendered = render(&project, &plan, &opts)?;
            let shown = rendered.cells.iter().filter(|c| c.index.is_some()).count();
            println!(
                "{} of {} cells rendered into {} (the others, with why, in PLAN.md); run {}/run.sh",
                shown,
                rendered.cells.len(),
                args.out.display(),
                args.out.display()
            );
            Ok(0)
        }
        K8sCommand::Collect(args) => {
            let opts = CollectOptions {
                namespace: args.namespace.clone(),
                kubectl: args.kubectl,
                dapr_namespace: args.dapr_namespace,
            };
            let results = collect(&opts)?;
            let out = args.out.unwrap_or_else(|| {
                paths::runs_dir().join(format!(
                    "{}-k8s-{}.json",
                    results.scenario.meta.name, args.namespace
                ))
            });
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            }
            blueprint_analysis::results::write_atomic(&out, &results)?;
            println!("{}", out.display());
            Ok(0)
        }
    }
}
