//! Progress for long work. On a terminal an `indicatif` spinner or bar; in a
//! log (CI) one plain line when the work starts, so a slow step never looks
//! like a hang.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// Every bar of this process draws through one `MultiProgress`, so work that
/// runs side by side (daprd's build next to the guests') shows one line each
/// instead of overwriting the other's.
fn add(bar: ProgressBar) -> ProgressBar {
    static MULTI: std::sync::OnceLock<MultiProgress> = std::sync::OnceLock::new();
    MULTI.get_or_init(MultiProgress::new).add(bar)
}

/// A spinner with a message, ticking until `finish_and_clear`.
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let message = message.into();
    if !interactive() {
        eprintln!("… {message}");
        return ProgressBar::hidden();
    }
    let bar = add(ProgressBar::new_spinner());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A bar over `len` steps (cells of a run).
pub fn bar(len: u64, message: impl Into<String>) -> ProgressBar {
    let message = message.into();
    if !interactive() {
        eprintln!("… {message} ({len} steps)");
        return ProgressBar::hidden();
    }
    let bar = add(ProgressBar::new(len));
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    bar
}

/// Announces one step of a bar; in a log, as its own line.
pub fn step(bar: &ProgressBar, message: impl Into<String>) {
    let message = message.into();
    if bar.is_hidden() {
        eprintln!("… {message}");
    }
    bar.set_message(message);
}
