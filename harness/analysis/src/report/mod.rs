//! `blueprint-bench report`: a results file as a Markdown summary (for a CI
//! job summary or a pull-request comment) and one self-contained HTML page
//! with SVG charts.
//!
//! - [`decision`]: the answer at the top, blueprints ranked per workload;
//! - [`figures`]: which charts a run gets and the figures in each;
//! - [`charts`]: drawing them with `plotters` (SVG);
//! - [`markdown`], [`html`]: the two documents.

pub mod charts;
pub mod claims;
pub mod decision;
pub mod figures;
pub mod html;
pub mod markdown;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::recommend::{self, Recommendation, Requirements};
use crate::results::{self, RunResults};
use figures::{ChartData, ChartKind};

/// One chart as placed on the page.
#[derive(Debug, Clone, Serialize)]
pub struct ChartInfo {
    /// Its HTML id.
    pub id: String,
    /// What it shows.
    pub kind: ChartKind,
    /// Caption.
    pub title: String,
    /// Its axis descriptions, as drawn.
    pub axes: Vec<String>,
    /// Its legend entries, as drawn.
    pub legend: Vec<String>,
}

/// The rendered documents.
#[derive(Debug, Clone)]
pub struct Report {
    /// The Markdown summary.
    pub markdown: String,
    /// The HTML page.
    pub html: String,
    /// The charts on the page, in order.
    pub charts: Vec<ChartInfo>,
}

/// File name of the page in the output folder.
pub const HTML_NAME: &str = "report.html";
/// File name of the summary in the output folder.
pub const MARKDOWN_NAME: &str = "report.md";

/// Renders both documents; `source` names the results file in them.
///
/// # Errors
/// A corrupt histogram, or a chart that fails to draw.
pub fn render(results: &RunResults, source: &str) -> Result<Report> {
    render_for(results, source, None)
}

/// [`render`], with the answer to a user's requirements (`recommend`) at
/// the top of both documents.
///
/// # Errors
/// See [`render`].
pub fn render_for(results: &RunResults, source: &str, answer: Option<&Recommendation>) -> Result<Report> {
    let plans = figures::plan(results)?;
    let mut drawn = Vec::with_capacity(plans.len());
    for plan in plans {
        let svg = match &plan.data {
            ChartData::Bars(spec) => charts::grouped_bars(spec),
            ChartData::Sweep(title, series) => charts::rate_sweep(title, series),
            ChartData::Spectrum(title, series) => charts::latency_spectrum(title, series),
        }
        .with_context(|| format!("chart `{}`", plan.id))?;
        drawn.push((plan, svg));
    }
    let charts = drawn
        .iter()
        .map(|(p, _)| {
            let (axes, legend) = match &p.data {
                ChartData::Bars(b) => (vec![b.value_label.clone()], b.series.clone()),
                ChartData::Sweep(_, series) => (
                    charts::SWEEP_AXES.iter().map(|a| (*a).to_owned()).collect(),
                    series.iter().map(|s| s.label.clone()).collect(),
                ),
                ChartData::Spectrum(_, series) => (
                    charts::SPECTRUM_AXES.iter().map(|a| (*a).to_owned()).collect(),
                    series.iter().map(|s| s.label.clone()).collect(),
                ),
            };
            ChartInfo {
                id: p.id.clone(),
                kind: p.kind,
                title: p.title.clone(),
                axes,
                legend,
            }
        })
        .collect::<Vec<_>>();
    Ok(Report {
        markdown: markdown::render(results, source, Some(HTML_NAME), charts.len(), answer),
        html: html::render(results, source, &drawn, answer),
        charts,
    })
}

/// Whether `path` holds `blueprint-bench instructions` counts (its
/// `schema`) rather than a run's results.
fn is_instructions(path: &Path) -> bool {
    #[derive(serde::Deserialize)]
    struct Peek {
        schema: Option<String>,
    }
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<Peek>(&text).ok())
        .and_then(|p| p.schema)
        .is_some_and(|s| s == crate::instructions::SCHEMA)
}

/// The default output folder: next to the results file, `<stem>.report/`.
pub fn default_out_dir(results_path: &Path) -> PathBuf {
    let stem = results_path
        .file_stem()
        .map_or_else(|| "results".into(), |s| s.to_string_lossy().into_owned());
    results_path.with_file_name(format!("{stem}.report"))
}

/// What a user asked of the report: the requirements `recommend` answers,
/// and the workload they are about (default as in `recommend`).
#[derive(Debug, Clone)]
pub struct Asked {
    /// The workload whose cells decide.
    pub workload: Option<String>,
    /// Rate, p99 budget, needs, ….
    pub requirements: Requirements,
}

/// Renders `results_path` into `out_dir` (`report.md`, `report.html`), with
/// the answer to `asked` at the top when given.
///
/// # Errors
/// Unreadable results, a chart failure, an unwritable folder, or a
/// workload the results do not have.
pub fn write(results_path: &Path, out_dir: &Path, asked: Option<&Asked>) -> Result<Report> {
    let report = if is_instructions(results_path) {
        if asked.is_some() {
            anyhow::bail!(
                "{}: an instruction-count file has no rates or latencies to answer requirements with",
                results_path.display()
            );
        }
        let run = crate::instructions::read(results_path)?;
        let markdown = crate::instructions::markdown(&run);
        Report {
            html: html::markdown_page(&format!("instructions, {}", run.git_revision), &markdown),
            markdown,
            charts: Vec::new(),
        }
    } else {
        let results = results::read(results_path)?;
        let answer = asked
            .map(|a| recommend::recommend(results_path, &results, a.workload.as_deref(), &a.requirements))
            .transpose()?;
        render_for(&results, &results_path.display().to_string(), answer.as_ref())?
    };
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    for (name, text) in [(MARKDOWN_NAME, &report.markdown), (HTML_NAME, &report.html)] {
        let path = out_dir.join(name);
        let mut tmp = tempfile::NamedTempFile::new_in(out_dir)
            .with_context(|| format!("writing in {}", out_dir.display()))?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        tmp.persist(&path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report)
}
