//! blueprint-analysis: the results document and everything that reads it
//! back. Saved results re-analyse here without engines, daprd or an async
//! runtime (`cargo tree -p blueprint-analysis` has none of them).
//!
//! Layout, from data to verdicts:
//! - [`settings`], [`modes`]: what a scenario asked for and what each
//!   integration mode is (the one mode table).
//! - [`results`]: the versioned results document, written atomically.
//! - [`stats`]: medians, intervals, tests: pure math on samples.
//! - [`paired`]: the same for pairs of trials run back to back (same-run A/B).
//! - [`sweep`]: rate sweeps and the knee.
//! - [`adaptive`]: when a cell has run enough trials.
//! - [`compare`]: baseline vs candidate, a verdict per cell and figure.
//! - [`instructions`]: counted work (callgrind) per phase, and its gate.
//! - [`recommend`]: blueprints ranked for stated requirements.
//! - [`report`], [`table`]: Markdown, HTML with SVG charts, the terminal table.
//! - [`baseline`]: validating and promoting stored baselines.

pub mod adaptive;
pub mod baseline;
pub mod compare;
pub mod instructions;
pub mod modes;
pub mod paired;
pub mod recommend;
pub mod report;
pub mod results;
pub mod settings;
pub mod stats;
pub mod sweep;
pub mod table;
