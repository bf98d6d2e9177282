//! Callgrind's side: the profile parts one probe run leaves (one file per
//! dump and thread, `--separate-threads=yes`: a `--dump-after` writes the
//! calling thread's, the end of the program every thread's) and Valgrind's
//! version.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// One profile part of one thread: the instructions it ran between two
/// dumps.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Part {
    /// The dump's sequence number (the threads' parts written at the end
    /// share the last).
    pub number: u32,
    /// Callgrind's thread number: 1 is the program's first thread, the others
    /// count up in the order they started.
    pub thread: u32,
    /// What wrote it (`--dump-after=<function>`, `Program termination`).
    pub trigger: String,
    /// Instructions.
    pub total: u64,
}

impl Part {
    /// Whether a `--dump-after` of `blueprint_count_<mark>` wrote it.
    pub fn ends(&self, mark: &str) -> bool {
        self.trigger.ends_with(&format!("blueprint_count_{mark}"))
    }
}

/// Callgrind's profile parts in `dir` whose names start with `prefix`.
pub(super) fn read_parts(dir: &Path, prefix: &str) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let is_part = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(prefix));
        if !is_part {
            continue;
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        // With one file per thread, the name without a thread is left empty.
        if text.is_empty() {
            continue;
        }
        parts.push(parse_part(&text).with_context(|| format!("parsing {}", path.display()))?);
    }
    parts.sort_by_key(|p| (p.number, p.thread));
    Ok(parts)
}

/// A part's number, thread, trigger and total from callgrind's output format.
pub(super) fn parse_part(text: &str) -> Result<Part> {
    let header = |name: &str| text.lines().find_map(|l| l.strip_prefix(name));
    let number = header("part:")
        .map_or(Ok(0), |t| t.trim().parse::<u32>())
        .context("a part number that is not a number")?;
    let thread = header("thread:")
        .map_or(Ok(1), |t| t.trim().parse::<u32>())
        .context("a thread that is not a number")?;
    let trigger = header("desc: Trigger:").unwrap_or_default().trim().to_owned();
    let total = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .context("no totals line")?
        .split_whitespace()
        .next()
        .context("an empty totals line")?
        .parse::<u64>()
        .context("totals is not a count")?;
    Ok(Part {
        number,
        thread,
        trigger,
        total,
    })
}

/// `valgrind --version`, or why it cannot be run.
pub(super) fn valgrind_version() -> Result<String> {
    let out = Command::new("valgrind")
        .arg("--version")
        .output()
        .context("`instructions` runs the probe under Valgrind, which is not installed (fix: apt-get install valgrind)")?;
    if !out.status.success() {
        bail!(
            "`valgrind --version` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callgrind_part_gives_its_number_thread_trigger_and_total() {
        let part = "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npid: 7\ncmd: x\npart: 2\nthread: 3\n\
                    desc: I1 cache:\ndesc: Trigger: --dump-after=blueprint_bench::cli::instructions::blueprint_count_instantiate\n\
                    positions: line\nevents: Ir\nsummary: 123456\n\nfl=(1) x.rs\nfn=(1) f\n3 7\n\ntotals: 123456\n";
        let part = parse_part(part).unwrap();
        assert!(part.ends("instantiate"));
        assert!(!part.ends("compile"));
        assert_eq!((part.number, part.thread, part.total), (2, 3, 123_456));
        assert!(parse_part("version: 1\n").is_err());
    }
}
