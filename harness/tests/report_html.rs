//! `report`: the HTML page loads in a real headless browser (Debian's
//! chromium), offline, with the answer on its first screen, every chart
//! rendered with its legend and axis labels, and nothing on the console;
//! the Markdown summary carries every measured cell. Screenshots at desktop
//! and narrow widths are written next to the report and copied to the
//! target dir for a person to look at.

mod common;
mod synthetic;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use blueprint_analysis::results::CellStatus;
use synthetic::{Trial, cell, id, run};

/// The browser: `$CHROMIUM`, else `chromium` or `chromium-browser` on PATH.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "headless chromium is needed to check the HTML report: install it with \
         `apt-get install -y chromium` (.ci/run does), or point $CHROMIUM at a binary"
    );
}

/// Runs chromium headless on `url` with `extra` arguments; returns stdout
/// and stderr. Killed after a minute.
fn headless(url: &str, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox", // tests run as root in CI containers
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            // Offline: anything the page fetched would fail and log.
            "--proxy-server=127.0.0.1:9",
            // A desktop screen: the answer must be on it.
            "--window-size=1400,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        // Files, not pipes: a dumped DOM is larger than a pipe's buffer.
        .stdout(std::fs::File::create(profile.path().join("stdout")).unwrap())
        .stderr(std::fs::File::create(profile.path().join("stderr")).unwrap())
        .spawn()
        .expect("starting chromium");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let read =
        |name: &str| String::from_utf8_lossy(&std::fs::read(profile.path().join(name)).unwrap()).into_owned();
    (read("stdout"), read("stderr"))
}

/// What the browser saw: the DOM after scripts ran, and console messages.
struct PageCheck {
    dom: String,
    console: Vec<String>,
}

fn load(page: &Path) -> PageCheck {
    load_url(&format!("file://{}", page.display()))
}

fn load_url(url: &str) -> PageCheck {
    let (dom, stderr) = headless(url, &["--dump-dom".to_owned()]);
    // Chromium logs every console message of the page as `…:CONSOLE…] "text", source: …`.
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    PageCheck { dom, console }
}

fn body_attribute(dom: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = dom.find(&key)? + key.len();
    Some(dom[start..].split('"').next()?.to_owned())
}

fn rendered_attribute(dom: &str) -> Option<String> {
    body_attribute(dom, "data-charts-rendered")
}

/// Text as the SVG and HTML writers escape it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A run with every kind of chart: two workloads, two modes, two languages,
/// sweeps, and a cell that could not run.
fn rich_results() -> blueprint_analysis::results::RunResults {
    let swept = |rps: f64, p50: f64, p99: f64, knee_at: f64| -> Vec<Trial> {
        (0..3)
            .map(|i| {
                let j = 1.0 + i as f64 * 0.03;
                Trial::new(rps * j, p50 * j, p99 * j).sweep(&[
                    (100.0, p99 * j),
                    (200.0, p99 * 1.2 * j),
                    (400.0, if knee_at >= 400.0 { p99 * 1.5 } else { p99 * 10.0 } * j),
                    (800.0, p99 * 30.0 * j),
                ])
            })
            .collect()
    };
    let mut cells = Vec::new();
    for (workload, base) in [("noop", 4000.0), ("counter", 1200.0)] {
        for (mode, factor) in [("embedded", 1.0), ("middleware", 1.3)] {
            for (runtime, lang, r) in [
                ("wasmtime", "rust", 1.0),
                ("wasmtime", "go", 0.4),
                ("wazero", "rust", 0.3),
            ] {
                if mode == "middleware" && (runtime != "wazero" || workload == "counter") {
                    continue;
                }
                let rps = base * factor * r;
                cells.push(cell(
                    id(workload, mode, runtime, lang),
                    &swept(
                        rps,
                        4e6 / rps / 4.0,
                        4e6 / rps,
                        if r > 0.5 { 400.0 } else { 200.0 },
                    ),
                ));
            }
        }
    }
    cells.push(synthetic::unmeasured(
        id("noop", "embedded", "wasmedge", "rust"),
        CellStatus::Unavailable {
            reason: "built without the `wasmedge` feature".into(),
        },
    ));
    run(cells)
}

#[derive(serde::Deserialize)]
struct Rendered {
    html: PathBuf,
    markdown: PathBuf,
    charts: Vec<ChartEntry>,
    screenshots: Vec<PathBuf>,
}

#[derive(serde::Deserialize)]
struct ChartEntry {
    id: String,
    kind: String,
    axes: Vec<String>,
    legend: Vec<String>,
}

#[test]
fn the_page_loads_in_chromium_with_every_chart_and_a_quiet_console() {
    let dir = tempfile::tempdir().unwrap();
    let results = synthetic::write(dir.path(), "rich", &rich_results());
    let out_dir = dir.path().join("report");
    let out = Command::new(common::bin())
        .args([
            "report",
            results.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--json",
            "--screenshots",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rendered: Rendered = serde_json::from_slice(&out.stdout).unwrap();

    // Every kind of chart the issue asks for, and one spectrum per measured cell.
    let kinds: std::collections::BTreeSet<&str> = rendered.charts.iter().map(|c| c.kind.as_str()).collect();
    for kind in [
        "throughput",
        "cpu-per-request",
        "cpu-split",
        "rate-sweep",
        "blueprint-spectra",
        "cold-start",
        "phases",
        "module-size",
        "latency-spectrum",
    ] {
        assert!(kinds.contains(kind), "no {kind} chart: {kinds:?}");
    }
    let spectra = rendered
        .charts
        .iter()
        .filter(|c| c.kind == "latency-spectrum")
        .count();
    let measured = rich_results()
        .cells
        .iter()
        .filter(|c| c.status == CellStatus::Ok)
        .count();
    assert_eq!(spectra, measured, "one spectrum per measured cell");

    // Self-contained: nothing is fetched from anywhere.
    let html = std::fs::read_to_string(&rendered.html).unwrap();
    for fetch in ["src=\"http", "href=\"http", "@import", "<link", "url("] {
        assert!(!html.contains(fetch), "the page loads `{fetch}…`");
    }

    let page = load(&rendered.html);
    assert!(page.console.is_empty(), "console output: {:#?}", page.console);
    let total = rendered.charts.len();
    assert_eq!(
        rendered_attribute(&page.dom).as_deref(),
        Some(format!("{total}/{total}").as_str()),
        "every chart laid out in the browser"
    );
    for chart in &rendered.charts {
        let at = page
            .dom
            .find(&format!("id=\"{}\"", chart.id))
            .unwrap_or_else(|| panic!("chart {} missing from the DOM", chart.id));
        let figure = &page.dom[at..page.dom[at..]
            .find("</figure>")
            .map_or(page.dom.len(), |e| at + e)];
        assert!(figure.contains("<svg"), "chart {} has no SVG", chart.id);
        assert!(
            !chart.axes.is_empty() && !chart.legend.is_empty(),
            "chart {}: no axes or legend",
            chart.id
        );
        for text in chart.axes.iter().chain(&chart.legend) {
            assert!(
                figure.contains(&escaped(text)),
                "chart {}: `{text}` is not drawn",
                chart.id
            );
        }
    }

    // The answer first: the ranking is on the first screen of a desktop
    // browser, above the run details and the cell table.
    let bottom: f64 = body_attribute(&page.dom, "data-first-answer-bottom")
        .expect("the page has no answer")
        .parse()
        .unwrap();
    assert!(
        bottom > 0.0 && bottom <= 900.0,
        "the first ranking ends at {bottom} px, below the fold"
    );
    let decision = page.dom.find("id=\"decision\"").unwrap();
    assert!(decision < page.dom.find("id=\"run\"").unwrap());
    assert!(decision < page.dom.find("id=\"cell-table\"").unwrap());
    let noop = &page.dom[page.dom.find("id=\"decision-noop\"").unwrap()..];
    let noop = &noop[..noop.find("</table>").unwrap()];
    let embedded = noop.find(">embedded<").expect("embedded ranked for noop");
    let middleware = noop.find(">middleware<").expect("middleware ranked for noop");
    assert!(
        embedded < middleware,
        "embedded costs less CPU per request: {noop}"
    );
    assert!(
        noop.contains("<td>1</td>") && noop.contains("<td>2</td>"),
        "{noop}"
    );

    // Unavailable cells take one line per reason, not a row each.
    let table = &page.dom[page.dom.find("id=\"cell-table\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert!(!table.contains("wasmedge"), "an unavailable cell has a row");
    assert!(page.dom.contains("built without the `wasmedge` feature"));

    // The cell table filters in the browser (here from the link's filter).
    let filtered = load_url(&format!(
        "file://{}#filter=counter%20wazero",
        rendered.html.display()
    ));
    assert!(filtered.console.is_empty(), "{:#?}", filtered.console);
    let body = &filtered.dom[filtered.dom.find("id=\"cell-table\"").unwrap()..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    let rows: Vec<&str> = body.split("<tr").skip(1).collect();
    let shown: Vec<&&str> = rows.iter().filter(|r| !r.contains("display: none")).collect();
    assert!(
        !shown.is_empty() && shown.len() < rows.len(),
        "{} of {} rows shown",
        shown.len(),
        rows.len()
    );
    assert!(
        shown
            .iter()
            .all(|r| r.contains(">counter<") && r.contains(">wazero<")),
        "{shown:#?}"
    );

    // Screenshots next to the report, copied where a person finds them.
    assert_eq!(rendered.screenshots.len(), 2);
    for shot in &rendered.screenshots {
        assert_eq!(shot.parent(), rendered.html.parent(), "{}", shot.display());
        let size = std::fs::metadata(shot).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{} has {size} bytes", shot.display());
        let keep = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(shot.file_name().unwrap());
        std::fs::copy(shot, keep).unwrap();
    }

    let md = std::fs::read_to_string(&rendered.markdown).unwrap();
    assert!(md.contains("| noop | middleware | wazero | rust | ok |"), "{md}");
    assert!(
        md.contains("unavailable: built without the `wasmedge` feature"),
        "{md}"
    );
    assert!(md.contains(&format!("Charts ({total})")), "{md}");
}

#[test]
fn the_browser_check_catches_a_broken_page() {
    // The checks above would pass vacuously if chromium never ran the
    // script or its console were not read: a page with a chart that does not
    // render and a script error must fail both.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    let report = blueprint_analysis::report::render(&rich_results(), "rich.json").unwrap();
    let first = report.charts[0].id.clone();
    let at = report.html.find(&format!("id=\"{first}\"")).unwrap();
    let svg_start = at + report.html[at..].find("<svg").unwrap();
    let svg_end = svg_start + report.html[svg_start..].find("</svg>").unwrap() + "</svg>".len();
    let broken = format!(
        "{}<p>no chart</p>{}",
        &report.html[..svg_start],
        &report.html[svg_end..].replace("</body>", "<script>notDefined();</script></body>")
    );
    std::fs::write(&page, broken).unwrap();
    let check = load(&page);
    let total = report.charts.len();
    assert_eq!(
        rendered_attribute(&check.dom),
        Some(format!("{}/{total}", total - 1))
    );
    assert!(
        check
            .console
            .iter()
            .any(|l| l.contains(&format!("chart {first} did not render"))),
        "{:#?}",
        check.console
    );
    assert!(
        check.console.iter().any(|l| l.contains("notDefined")),
        "{:#?}",
        check.console
    );
}

#[test]
fn a_report_of_a_run_without_measurements_still_renders() {
    let results = run(vec![synthetic::unmeasured(
        id("noop", "embedded", "wasmtime", "rust"),
        CellStatus::Failed {
            error: "daprd exited\nwith a long log".into(),
        },
    )]);
    let report = blueprint_analysis::report::render(&results, "failed.json").unwrap();
    assert!(report.charts.is_empty() || report.charts.iter().all(|c| c.id == "module-sizes"));
    assert!(
        report.markdown.contains("**failed**: daprd exited |"),
        "{}",
        report.markdown
    );
    assert!(report.html.contains("data-chart-count"));
}

#[test]
fn blueprints_are_ranked_with_ties_as_ties_or_not_at_all() {
    use blueprint_analysis::report::decision::decide;
    let trials = |rps: f64, n: usize| -> Vec<Trial> {
        (0..n)
            .map(|i| Trial::new(rps * (1.0 + 0.03 * i as f64), 100.0, 400.0))
            .collect()
    };
    let ranked = |n: usize| {
        run(vec![
            cell(
                id("counter", "standalone-http", "wasmtime", "rust"),
                &trials(500.0, n),
            ),
            cell(id("counter", "embedded", "wasmtime", "rust"), &trials(1000.0, n)),
            // Within embedded's interval: the trials cannot tell them apart.
            cell(
                id("counter", "embedded+cache", "wasmtime", "rust"),
                &trials(990.0, n),
            ),
            cell(id("counter", "native", "native", "none"), &trials(5000.0, n)),
        ])
    };
    let d = &decide(&ranked(3))[0];
    assert_eq!(d.refusal, None);
    let ranks: Vec<(&str, usize, bool)> = d
        .standings
        .iter()
        .map(|s| (s.mode.as_str(), s.rank, s.tied))
        .collect();
    assert_eq!(
        ranks,
        [
            ("embedded", 1, true),
            ("embedded+cache", 1, true),
            ("standalone-http", 3, false)
        ]
    );
    // The native floor is a reference, never ranked.
    assert_eq!(d.references.len(), 1);
    assert_eq!(d.references[0].mode, "native");
    // Why: the split by process, and the difference to the leader.
    let slow = &d.standings[2];
    assert!(
        slow.why.contains("daprd") && slow.why.contains("× the CPU per request of embedded"),
        "{}",
        slow.why
    );

    // One trial each: no ranking, and the page says why.
    let d = &decide(&ranked(1))[0];
    assert!(
        d.refusal.as_deref().unwrap().contains("fewer than 3 trials"),
        "{:?}",
        d.refusal
    );
    assert!(d.standings.iter().all(|s| s.rank == 0));
    let report = blueprint_analysis::report::render(&ranked(1), "one-trial.json").unwrap();
    assert!(report.html.contains("class=\"refusal\""));
    assert!(
        report.markdown.contains("fewer than 3 trials"),
        "{}",
        report.markdown
    );
}

#[test]
fn requirements_put_their_answer_first() {
    let dir = tempfile::tempdir().unwrap();
    let results = synthetic::write(dir.path(), "rich", &rich_results());
    let out_dir = dir.path().join("report");
    let report = |extra: &[&str]| {
        Command::new(common::bin())
            .args([
                "report",
                results.to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = report(&["--rate", "300", "--p99-budget", "50ms", "--workload", "noop"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    let answer = html.find("id=\"answer\"").expect("no answer section");
    assert!(answer < html.find("id=\"decision\"").unwrap());
    // Judged where it was measured: the lowest swept rate at or above 300.
    assert!(
        html.contains("open loop at 400 req/s"),
        "{}",
        &html[answer..answer + 3000]
    );
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(
        md.contains("### Your requirements") && md.contains("at 300 req/s"),
        "{md}"
    );

    // Half a question is refused by the command line, with what is missing.
    let out = report(&["--rate", "300"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--p99-budget"));
    // A workload the file does not have is named.
    let out = report(&["--rate", "300", "--p99-budget", "50ms", "--workload", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no cells of workload `nope`"));
}

#[test]
fn the_comparison_page_puts_regressions_first_on_a_forest_plot() {
    let trials = |rps: f64| -> Vec<Trial> {
        // Eight trials a side: enough for Holm across a dozen figures.
        (0..8)
            .map(|i| Trial::new(rps * (1.0 + 0.01 * i as f64), 1e6 / rps, 4e6 / rps))
            .collect()
    };
    let side = |slow: f64| {
        run(vec![
            cell(id("noop", "embedded", "wazero", "rust"), &trials(3000.0)),
            // The candidate serves this one at `slow` times the rate.
            cell(id("noop", "embedded", "wasmtime", "rust"), &trials(4000.0 * slow)),
        ])
    };
    let dir = tempfile::tempdir().unwrap();
    let base = synthetic::write(dir.path(), "base", &side(1.0));
    let cand = synthetic::write(dir.path(), "cand", &side(0.6));
    let page = dir.path().join("comparison.html");
    let out = Command::new(common::bin())
        .args([
            "compare",
            base.to_str().unwrap(),
            cand.to_str().unwrap(),
            "--html",
        ])
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Kept where a person finds it.
    std::fs::copy(
        &page,
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("comparison.html"),
    )
    .unwrap();
    let check = load(&page);
    assert!(check.console.is_empty(), "{:#?}", check.console);
    assert_eq!(rendered_attribute(&check.dom).as_deref(), Some("1/1"));
    // The forest plot's first row and the table's first row are the
    // regression, with its axis and legend drawn.
    let forest = &check.dom[check.dom.find("id=\"forest\"").unwrap()..];
    let forest = &forest[..forest.find("</figure>").unwrap()];
    for text in [
        blueprint_analysis::report::charts::FOREST_AXIS,
        "regressed",
        "unchanged",
    ] {
        assert!(forest.contains(&escaped(text)), "`{text}` is not drawn");
    }
    let first_label = forest.find("noop/embedded/").unwrap();
    assert!(
        forest[first_label..].starts_with("noop/embedded/wasmtime"),
        "first row is not the regression"
    );
    let table = &check.dom[check.dom.find("id=\"rows\"").unwrap()..];
    let first_row = &table[table.find("<tbody>").unwrap()..];
    let first_row = &first_row[..first_row.find("</tr>").unwrap()];
    assert!(
        first_row.contains("regressed") && first_row.contains("noop/embedded/wasmtime"),
        "{first_row}"
    );
}
