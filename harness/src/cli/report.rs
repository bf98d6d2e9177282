//! `blueprint-bench report`: Markdown and one self-contained HTML page.

use std::path::PathBuf;

use anyhow::Result;
use blueprint_analysis::report::{HTML_NAME, MARKDOWN_NAME, default_out_dir, write};

/// `report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The results file.
    pub results: PathBuf,
    /// Output folder (default: `<results stem>.report/` next to the file).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the Markdown summary to stdout as well.
    #[arg(long)]
    pub print: bool,
    /// Print JSON (paths and charts) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `report`.
///
/// # Errors
/// See [`write`].
pub fn execute(args: ReportArgs) -> Result<i32> {
    let out = args.out.unwrap_or_else(|| default_out_dir(&args.results));
    let report = write(&args.results, &out)?;
    let (md, html) = (out.join(MARKDOWN_NAME), out.join(HTML_NAME));
    if args.json {
        let value = serde_json::json!({ "markdown": md, "html": html, "charts": report.charts });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(0);
    }
    if args.print {
        print!("{}", report.markdown);
        println!();
    }
    println!(
        "markdown: {}\nhtml:     {} ({} charts)",
        md.display(),
        html.display(),
        report.charts.len()
    );
    Ok(0)
}
