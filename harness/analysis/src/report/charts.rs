//! SVG charts drawn with `plotters` (SVG backend only: text is left to the
//! browser's fonts, so nothing here needs a font file). Each function takes
//! figures that are already computed and returns one `<svg>` element.

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Tableau 10 (distinguishable, also in print) for blueprints and series,
/// then four muted tones for the processes of a CPU split.
const PALETTE: [RGBColor; 14] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
    RGBColor(0x2f, 0x3e, 0x46),
    RGBColor(0x52, 0xb7, 0x88),
    RGBColor(0xc9, 0x18, 0x4a),
    RGBColor(0xce, 0xd4, 0xda),
];

/// The palette index of a process in a CPU split (see
/// [`super::decision::PROCESS_ORDER`]).
pub fn process_color(role: &str) -> usize {
    match role {
        "daprd" => 10,
        "app" => 11,
        "redis" => 12,
        _ => 13,
    }
}

/// The colour of series `i`.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The palette index of a blueprint: its mode's place in the mode table, so
/// a mode has one colour on every chart and in every table of a report. A
/// label such as `embedded (reuse)` takes its mode's colour.
pub fn mode_color(mode_label: &str) -> usize {
    let name = mode_label.split(" (").next().unwrap_or(mode_label);
    crate::modes::ALL
        .iter()
        .position(|m| m.as_str() == name)
        .unwrap_or(9)
}

/// `#rrggbb` of palette index `i`, for HTML.
pub fn hex(i: usize) -> String {
    let RGBColor(r, g, b) = color(i);
    format!("#{r:02x}{g:02x}{b:02x}")
}

const WIDTH: u32 = 900;
const FONT: &str = "sans-serif";

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart: {e:?}")
}

/// A number with at most `decimals` decimals and no trailing zeros.
fn trimmed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Milliseconds for axis labels.
fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{}s", trimmed(ms / 1000.0, 2))
    } else if ms >= 1.0 {
        format!("{}ms", trimmed(ms, 1))
    } else {
        format!("{}µs", trimmed(ms * 1000.0, 0))
    }
}

/// A percentile axis value `x = 1 / (1 - p)` as a percentile label.
pub fn percentile_label(x: f64) -> String {
    format!("{}%", trimmed(100.0 * (1.0 - 1.0 / x), 4))
}

/// A value range padded for a log axis.
fn log_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return 0.1..10.0;
    }
    bounded_log((lo / 1.5)..(hi * 1.5).max(lo * 2.0))
}

/// At most [`MAX_DECADES`] decades, both ends finite: a hostile or corrupted
/// results file (a rate of 1e300) must not make the axis walk its ticks for
/// ever; a real chart never spans that much.
fn bounded_log(range: std::ops::Range<f64>) -> std::ops::Range<f64> {
    let hi = range.end.min(f64::MAX / 16.0);
    let lo = range
        .start
        .max(hi / 10f64.powi(MAX_DECADES))
        .max(f64::MIN_POSITIVE);
    lo..hi.max(lo * 2.0)
}

/// The widest log axis drawn.
const MAX_DECADES: i32 = 12;

/// The x and y axis descriptions of a latency spectrum.
pub const SPECTRUM_AXES: [&str; 2] = ["percentile (axis: 1/(1-p), log)", "latency (log)"];
/// The x and y axis descriptions of a rate sweep.
pub const SWEEP_AXES: [&str; 2] = ["offered rate, req/s (log)", "p99 from intended start (log)"];

/// One line of a latency spectrum.
#[derive(Debug, Clone)]
pub struct SpectrumSeries {
    /// Legend text.
    pub label: String,
    /// (x = 1/(1-p), latency in ms).
    pub points: Vec<(f64, f64)>,
    /// Dashed (service time) rather than solid (from the intended start).
    pub dashed: bool,
    /// Colour index.
    pub color: usize,
}

/// Latency by percentile, the HdrHistogram way: the x axis is `1/(1-p)` on a
/// log scale, so 90 %, 99 %, 99.9 % … are equally spaced and the tail is
/// visible; y is latency on a log scale.
///
/// # Errors
/// A drawing failure (not expected for an in-memory SVG).
pub fn latency_spectrum(title: &str, series: &[SpectrumSeries]) -> Result<String> {
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(10.0_f64, f64::max)
        .max(10.0);
    let y = log_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let x_axis = Axis {
        range: bounded_log(1.0..x_max * 1.2),
        desc: SPECTRUM_AXES[0],
        label: &|x| percentile_label(*x),
    };
    line_chart(title, x_axis, y, SPECTRUM_AXES[1], |chart| {
        for s in series {
            let style = color(s.color).stroke_width(2);
            let points = s.points.iter().copied();
            let drawn = if s.dashed {
                chart.draw_series(DashedLineSeries::new(points, 6, 4, style))
            } else {
                chart.draw_series(LineSeries::new(points, style))
            };
            drawn
                .map_err(err)?
                .label(&s.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        Ok(())
    })
}

/// The x axis of a [`line_chart`].
struct Axis<'a> {
    range: std::ops::Range<f64>,
    desc: &'a str,
    label: &'a dyn Fn(&f64) -> String,
}

/// A chart with both axes on a log scale, drawn on a white page.
type LogLogChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>;

/// Latency (log, in milliseconds) against `x` (log), with a legend of the
/// series `draw` labels, upper left.
fn line_chart(
    title: &str,
    x: Axis<'_>,
    y: std::ops::Range<f64>,
    y_desc: &str,
    draw: impl FnOnce(&mut LogLogChart<'_, '_>) -> Result<()>,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x.range.log_scale(), y.log_scale())
            .map_err(err)?;
        let yf = |v: &f64| fmt_ms(*v);
        chart
            .configure_mesh()
            .x_desc(x.desc)
            .y_desc(y_desc)
            .x_label_formatter(x.label)
            .y_label_formatter(&yf)
            .label_style((FONT, 12))
            .draw()
            .map_err(err)?;
        draw(&mut chart)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 12))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// One bar: a median with its confidence interval.
#[derive(Debug, Clone, Copy)]
pub struct Bar {
    /// The bar's length.
    pub value: f64,
    /// The interval, drawn as an error bar when present.
    pub interval: Option<(f64, f64)>,
}

/// Horizontal grouped bars: one band per category, one bar per series
/// (the bars a band has share it), or stacked segments.
#[derive(Debug, Clone, Default)]
pub struct BarChart {
    /// Caption.
    pub title: String,
    /// Value axis description (with its unit).
    pub value_label: String,
    /// Log value axis (for figures spanning decades).
    pub log: bool,
    /// Band labels, top to bottom.
    pub categories: Vec<String>,
    /// Legend entries.
    pub series: Vec<String>,
    /// `values[category][series]`.
    pub values: Vec<Vec<Option<Bar>>>,
    /// Palette index of each series; empty: by position.
    pub colors: Vec<usize>,
    /// A swatch of this palette index beside a band's label (its blueprint).
    pub category_colors: Vec<Option<usize>>,
    /// Segments of a band end to end; a segment's interval is then in axis
    /// units from zero (the interval of the stack up to it).
    pub stacked: bool,
    /// Dashed reference lines across every band: (label, value).
    pub references: Vec<(String, f64)>,
}

impl BarChart {
    fn series_color(&self, s: usize) -> RGBColor {
        color(self.colors.get(s).copied().unwrap_or(s))
    }
}

fn bar_value_range(chart: &BarChart) -> std::ops::Range<f64> {
    let stacks = chart
        .values
        .iter()
        .filter(|_| chart.stacked)
        .map(|row| row.iter().flatten().map(|b| b.value).sum::<f64>());
    let all = chart
        .values
        .iter()
        .flatten()
        .flatten()
        .flat_map(|b| {
            let (lo, hi) = b.interval.unwrap_or((b.value, b.value));
            [b.value, lo, hi]
        })
        .chain(stacks)
        .chain(chart.references.iter().map(|r| r.1));
    if chart.log {
        log_range(all)
    } else {
        let hi = all.fold(0.0_f64, f64::max);
        0.0..if hi > 0.0 { hi * 1.12 } else { 1.0 }
    }
}

/// Draws a [`BarChart`].
///
/// # Errors
/// A drawing failure (not expected for an in-memory SVG).
pub fn grouped_bars(spec: &BarChart) -> Result<String> {
    let n_cat = spec.categories.len().max(1);
    let per_band = if spec.stacked {
        1
    } else {
        spec.values
            .iter()
            .map(|row| row.iter().flatten().count())
            .max()
            .unwrap_or(1)
            .max(1)
    };
    let band = (per_band as u32 * 14 + 12).max(26);
    let legend_rows = spec.series.len().div_ceil(4) as u32;
    let height = 70 + legend_rows * 18 + band * n_cat as u32 + 40;
    let label_width = spec
        .categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(4) as u32
        * 7
        + 28;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (top, body) = root.split_vertically(30 + legend_rows * 18);
        top.draw(&Text::new(
            spec.title.clone(),
            (WIDTH as i32 / 2, 8),
            (FONT, 16)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err)?;
        let colors: Vec<RGBColor> = (0..spec.series.len()).map(|i| spec.series_color(i)).collect();
        legend(&top, &spec.series, &colors, 30)?;
        let range = bar_value_range(spec);
        let y_range = -0.5..(n_cat as f64 - 0.5);
        if spec.log {
            let mut chart = ChartBuilder::on(&body)
                .margin(10)
                .x_label_area_size(36)
                .y_label_area_size(label_width)
                .build_cartesian_2d(range.log_scale(), y_range)
                .map_err(err)?;
            draw_bars(&mut chart, spec, &body)?;
        } else {
            let mut chart = ChartBuilder::on(&body)
                .margin(10)
                .x_label_area_size(36)
                .y_label_area_size(label_width)
                .build_cartesian_2d(range, y_range)
                .map_err(err)?;
            draw_bars(&mut chart, spec, &body)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

fn legend(
    area: &DrawingArea<SVGBackend, Shift>,
    names: &[String],
    colors: &[RGBColor],
    y0: i32,
) -> Result<()> {
    for (i, name) in names.iter().enumerate() {
        let x = 20 + (i % 4) as i32 * 215;
        let y = y0 + (i / 4) as i32 * 18;
        area.draw(&Rectangle::new([(x, y), (x + 12, y + 12)], colors[i].filled()))
            .map_err(err)?;
        area.draw(&Text::new(
            name.clone(),
            (x + 18, y + 6),
            (FONT, 12)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }
    Ok(())
}

fn draw_bars<'a, X>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    spec: &BarChart,
    area: &DrawingArea<SVGBackend<'a>, Shift>,
) -> Result<()>
where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let value_label = spec.value_label.clone();
    let xf = |v: &f64| trimmed(*v, 2);
    chart
        .configure_mesh()
        .x_label_formatter(&xf)
        .disable_y_mesh()
        .y_labels(0)
        .y_label_formatter(&|_| String::new())
        .x_desc(value_label)
        .label_style((FONT, 12))
        .draw()
        .map_err(err)?;
    let base = chart.x_range().start;
    let n_cat = spec.categories.len();
    for (c, row) in spec.values.iter().enumerate() {
        // Category 0 at the top.
        let center = (n_cat - 1 - c) as f64;
        let present: Vec<(usize, &Bar)> = row
            .iter()
            .enumerate()
            .filter_map(|(s, b)| b.as_ref().map(|b| (s, b)))
            .collect();
        let slots = if spec.stacked { 1 } else { present.len().max(1) };
        let slot = 0.8 / slots as f64;
        let mut stacked_to = base;
        for (k, (s, bar)) in present.iter().enumerate() {
            let y_top = center + 0.4 - if spec.stacked { 0.0 } else { slot * k as f64 };
            let y_bottom = y_top - slot * 0.9;
            let (from, to) = if spec.stacked {
                let from = stacked_to;
                stacked_to = (from + bar.value).max(base);
                (from, stacked_to)
            } else {
                (base, bar.value.max(base))
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(from, y_bottom), (to, y_top)],
                    spec.series_color(*s).filled(),
                )))
                .map_err(err)?;
            if let Some((lo, hi)) = bar.interval {
                let mid = (y_top + y_bottom) / 2.0;
                chart
                    .draw_series(std::iter::once(ErrorBar::new_horizontal(
                        mid,
                        lo.max(base),
                        to,
                        hi.max(base),
                        BLACK.stroke_width(1),
                        6,
                    )))
                    .map_err(err)?;
            }
        }
    }
    let end = chart.x_range().end;
    for (j, (label, value)) in spec.references.iter().enumerate() {
        let top = n_cat as f64 - 0.5;
        let x = value.max(base);
        let line = vec![(x, -0.5), (x, top)];
        chart
            .draw_series(DashedLineSeries::new(line, 5, 4, BLACK.mix(0.7).stroke_width(1)))
            .map_err(err)?;
        // One label per line, each a little lower than the one before; on
        // the line's left when it stands near the axis's end.
        let side = if x > base + (end - base) * 0.6 {
            HPos::Right
        } else {
            HPos::Left
        };
        chart
            .draw_series(std::iter::once(Text::new(
                format!(" {label} "),
                (x, top - 0.55 * j as f64),
                (FONT, 11)
                    .into_font()
                    .color(&BLACK.mix(0.8))
                    .pos(Pos::new(side, VPos::Top)),
            )))
            .map_err(err)?;
    }
    // Category labels, right-aligned against the plotting area, each with
    // its blueprint's swatch when it has one.
    for (c, name) in spec.categories.iter().enumerate() {
        let center = (n_cat - 1 - c) as f64;
        let (x, y) = chart.backend_coord(&(base, center));
        let (ox, oy) = area.get_base_pixel();
        let swatch = spec.category_colors.get(c).copied().flatten();
        let gap = if swatch.is_some() { 18 } else { 6 };
        if let Some(i) = swatch {
            let (sx, sy) = (x - ox - 14, y - oy);
            area.draw(&Rectangle::new(
                [(sx, sy - 5), (sx + 10, sy + 5)],
                color(i).filled(),
            ))
            .map_err(err)?;
        }
        area.draw(&Text::new(
            name.clone(),
            (x - ox - gap, y - oy),
            (FONT, 12)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// One line of a rate sweep chart.
#[derive(Debug, Clone)]
pub struct RateSeries {
    /// Legend text.
    pub label: String,
    /// (offered rate, p99 ms), sorted by rate.
    pub points: Vec<(f64, f64)>,
    /// The knee (median over trials) and the p99 there, when one was found.
    pub knee: Option<(f64, f64)>,
    /// Palette index (its blueprint's).
    pub color: usize,
}

/// p99 against offered rate, both on log axes, each series' knee marked with
/// a triangle and its rate.
///
/// # Errors
/// A drawing failure (not expected for an in-memory SVG).
pub fn rate_sweep(title: &str, series: &[RateSeries]) -> Result<String> {
    let x_axis = Axis {
        range: log_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.0))),
        desc: SWEEP_AXES[0],
        label: &|v| format!("{v:.0}"),
    };
    let y = log_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    line_chart(title, x_axis, y, SWEEP_AXES[1], |chart| {
        for s in series {
            let i = s.color;
            let style = color(i).stroke_width(2);
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), style))
                .map_err(err)?
                .label(&s.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color(i).filled())))
                .map_err(err)?;
            if let Some((rate, p99)) = s.knee {
                chart
                    .draw_series(std::iter::once(TriangleMarker::new(
                        (rate, p99),
                        8,
                        color(i).filled(),
                    )))
                    .map_err(err)?;
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!("knee {rate:.0}"),
                        (rate, p99),
                        (FONT, 11)
                            .into_font()
                            .color(&color(i))
                            .pos(Pos::new(HPos::Left, VPos::Bottom)),
                    )))
                    .map_err(err)?;
            }
        }
        Ok(())
    })
}

/// One row of a forest plot: a relative change with its interval.
#[derive(Debug, Clone)]
pub struct ForestRow {
    /// Row label (cell, figure, rate).
    pub label: String,
    /// The change, percent (positive = higher).
    pub change_pct: f64,
    /// Its interval, percent, when there is one.
    pub interval: Option<(f64, f64)>,
    /// The noise threshold, percent: dashed at ±threshold around the row.
    pub threshold_pct: f64,
    /// Palette index (by verdict).
    pub color: usize,
}

/// Changes with their intervals, one row each, top to bottom, against a
/// line at zero; each row's ±threshold is marked with ticks. Values beyond
/// ±`CLAMP_PCT` are drawn at the edge (the table has them).
///
/// # Errors
/// A drawing failure (not expected for an in-memory SVG).
pub fn forest(title: &str, rows: &[ForestRow], legend_names: &[(String, usize)]) -> Result<String> {
    const CLAMP_PCT: f64 = 100.0;
    let clamp = |v: f64| v.clamp(-CLAMP_PCT, CLAMP_PCT);
    let extent = rows
        .iter()
        .flat_map(|r| {
            let (lo, hi) = r.interval.unwrap_or((r.change_pct, r.change_pct));
            [r.change_pct, lo, hi, r.threshold_pct, -r.threshold_pct]
        })
        .filter(|v| v.is_finite())
        .map(|v| clamp(v).abs())
        .fold(5.0_f64, f64::max)
        * 1.1;
    let n = rows.len().max(1);
    let label_width = rows.iter().map(|r| r.label.chars().count()).max().unwrap_or(4) as u32 * 7 + 16;
    let height = 70 + 18 + 18 * n as u32 + 40;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (WIDTH.max(label_width + 400), height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (top, body) = root.split_vertically(48);
        top.draw(&Text::new(
            title.to_owned(),
            (WIDTH as i32 / 2, 8),
            (FONT, 16)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err)?;
        let names: Vec<String> = legend_names.iter().map(|(n, _)| n.clone()).collect();
        let colors: Vec<RGBColor> = legend_names.iter().map(|(_, c)| color(*c)).collect();
        legend(&top, &names, &colors, 28)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(label_width)
            .build_cartesian_2d(-extent..extent, -0.5..(n as f64 - 0.5))
            .map_err(err)?;
        let xf = |v: &f64| format!("{}%", trimmed(*v, 1));
        chart
            .configure_mesh()
            .x_label_formatter(&xf)
            .disable_y_mesh()
            .y_labels(0)
            .y_label_formatter(&|_| String::new())
            .x_desc(FOREST_AXIS)
            .label_style((FONT, 12))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                BLACK.stroke_width(1),
            )))
            .map_err(err)?;
        for (i, r) in rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let c = color(r.color);
            for t in [-r.threshold_pct, r.threshold_pct] {
                let t = clamp(t);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(t, y - 0.35), (t, y + 0.35)],
                        BLACK.mix(0.35).stroke_width(1),
                    )))
                    .map_err(err)?;
            }
            if let Some((lo, hi)) = r.interval {
                chart
                    .draw_series(std::iter::once(ErrorBar::new_horizontal(
                        y,
                        clamp(lo),
                        clamp(r.change_pct),
                        clamp(hi),
                        c.stroke_width(2),
                        8,
                    )))
                    .map_err(err)?;
            }
            chart
                .draw_series(std::iter::once(Circle::new(
                    (clamp(r.change_pct), y),
                    4,
                    c.filled(),
                )))
                .map_err(err)?;
            let (x, py) = chart.backend_coord(&(-extent, y));
            let (ox, oy) = body.get_base_pixel();
            body.draw(&Text::new(
                r.label.clone(),
                (x - ox - 6, py - oy),
                (FONT, 12)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The x axis description of a forest plot.
pub const FOREST_AXIS: &str = "change of the candidate against the baseline, % (ticks: ±threshold)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_give_a_bounded_log_axis() {
        // Found by fuzzing a results file: a rate of 1e300 beside a normal one
        // made the axis walk its ticks for minutes.
        for r in [
            log_range([1e-300, 1e300].into_iter()),
            bounded_log(1.0..f64::INFINITY),
        ] {
            assert!(r.start > 0.0 && r.end.is_finite() && r.start < r.end, "{r:?}");
            assert!((r.end / r.start).log10() <= f64::from(MAX_DECADES) + 1.0, "{r:?}");
        }
        let sweep = [RateSeries {
            label: "x".into(),
            points: vec![(1e-300, 1.0), (1e300, 1e300)],
            knee: Some((1e300, 1e300)),
            color: 0,
        }];
        assert!(rate_sweep("hostile", &sweep).is_ok());
    }

    #[test]
    fn percentile_axis_labels_read_as_percentiles() {
        assert_eq!(percentile_label(1.0), "0%");
        assert_eq!(percentile_label(10.0), "90%");
        assert_eq!(percentile_label(100.0), "99%");
        assert_eq!(percentile_label(1000.0), "99.9%");
        assert_eq!(percentile_label(2.0), "50%");
    }

    #[test]
    fn charts_are_svg_with_their_labels() {
        let svg = grouped_bars(&BarChart {
            title: "throughput".into(),
            value_label: "req/s".into(),
            log: false,
            categories: vec!["embedded/wasmtime".into(), "embedded/wazero".into()],
            series: vec!["rust".into(), "go".into()],
            values: vec![
                vec![
                    Some(Bar {
                        value: 100.0,
                        interval: Some((90.0, 110.0)),
                    }),
                    None,
                ],
                vec![
                    None,
                    Some(Bar {
                        value: 50.0,
                        interval: None,
                    }),
                ],
            ],
            references: vec![("native floor".into(), 120.0)],
            ..BarChart::default()
        })
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in [
            "embedded/wasmtime",
            "embedded/wazero",
            "rust",
            "go",
            "req/s",
            "native floor",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        let spectrum = latency_spectrum(
            "cell",
            &[SpectrumSeries {
                label: "closed loop".into(),
                points: vec![(1.0, 1.0), (10.0, 2.0), (100.0, 5.0)],
                dashed: false,
                color: 0,
            }],
        )
        .unwrap();
        assert!(spectrum.contains("99%") && spectrum.contains("closed loop"));
        let sweep = rate_sweep(
            "sweep",
            &[RateSeries {
                label: "wasmtime/rust".into(),
                points: vec![(100.0, 1.0), (300.0, 1.2), (900.0, 40.0)],
                knee: Some((300.0, 1.2)),
                color: 0,
            }],
        )
        .unwrap();
        assert!(sweep.contains("knee 300"));
    }
}
