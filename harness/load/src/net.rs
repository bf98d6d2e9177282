//! Loopback-only networking helpers: free ports and target checks.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};

use anyhow::{Context, Result, bail};

/// The only address the harness listens on or sends to.
pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// `n` distinct free loopback ports, outside the kernel's ephemeral range.
///
/// A port is found free by binding it, then released for the child to bind,
/// so something else can take it in between. Ports the kernel hands out
/// (`bind(0)`, and the source port of every outbound connection, thousands
/// a second under load) come from the ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`); a port chosen there can be
/// taken by any connection opened meanwhile, the load generator's own
/// included. Below that range only a listener can take it. Within this
/// process no port is handed out twice until the whole range has been
/// walked, so cells started side by side never get the same port. Where the
/// ephemeral range leaves no room below it, the kernel chooses.
///
/// # Errors
/// The kernel refuses to bind on loopback.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    let Some(range) = unclaimed_range() else {
        return kernel_ports(n);
    };
    let mut ports = Vec::with_capacity(n);
    let mut held = Vec::with_capacity(n);
    // Walk at most the whole range once per call.
    for _ in 0..range.len() {
        if ports.len() == n {
            break;
        }
        let port = next_candidate(&range);
        if let Ok(listener) = TcpListener::bind((LOOPBACK, port)) {
            ports.push(port);
            held.push(listener);
        }
    }
    if ports.len() < n {
        bail!(
            "found only {} of {n} free loopback ports in {}..{}",
            ports.len(),
            range.start,
            range.end
        );
    }
    Ok(ports)
}

/// The lowest port [`free_ports`] uses: above the well-known and most
/// registered service ports (redis 6379, 8080, …).
const FIRST_PORT: u16 = 20_000;

/// The ports below the ephemeral range from [`FIRST_PORT`], if there are at
/// least a thousand.
fn unclaimed_range() -> Option<std::ops::Range<u16>> {
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let low: u16 = ephemeral.split_whitespace().next()?.parse().ok()?;
    (low >= FIRST_PORT + 1_000).then_some(FIRST_PORT..low)
}

/// The next port of `range` for this process: a cursor shared by every
/// caller, starting at an offset taken from the process id and the clock so
/// that two harness processes rarely walk the same ports.
fn next_candidate(range: &std::ops::Range<u16>) -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CURSOR: AtomicU64 = AtomicU64::new(u64::MAX);
    let len = u64::from(range.end - range.start);
    if CURSOR.load(Ordering::Relaxed) == u64::MAX {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()));
        let seed = u64::from(std::process::id()).wrapping_mul(7_919) ^ nanos;
        // Only the first caller's seed is kept.
        let _ = CURSOR.compare_exchange(u64::MAX, seed % len, Ordering::Relaxed, Ordering::Relaxed);
    }
    let step = CURSOR.fetch_add(1, Ordering::Relaxed);
    // `len` < 65536, so the remainder fits a u16.
    range.start + u16::try_from(step % len).unwrap_or(0)
}

/// `n` distinct ports chosen by the kernel (from its ephemeral range).
fn kernel_ports(n: usize) -> Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((LOOPBACK, 0)).context("binding a free loopback port"))
        .collect::<Result<Vec<_>>>()?;
    listeners.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// Checks that `addr` is a loopback address; everything else is refused.
///
/// # Errors
/// A non-loopback address.
pub fn ensure_loopback(addr: &SocketAddr) -> Result<()> {
    if !addr.ip().is_loopback() {
        bail!("refusing {addr}: blueprint-bench only talks to loopback addresses (127.0.0.0/8, ::1)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct() {
        let ports = free_ports(8).unwrap();
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 8);
    }

    #[test]
    fn free_ports_avoid_the_ephemeral_range_and_do_not_repeat() {
        let Some(range) = unclaimed_range() else {
            eprintln!("this kernel's ephemeral range leaves no room below it");
            return;
        };
        // Many calls, as cells started side by side make them.
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            for port in free_ports(5).unwrap() {
                assert!(range.contains(&port), "{port} is outside {range:?}");
                assert!(seen.insert(port), "{port} handed out twice");
            }
        }
    }

    #[test]
    fn only_loopback_is_accepted() {
        assert!(ensure_loopback(&"127.0.0.1:80".parse().unwrap()).is_ok());
        assert!(ensure_loopback(&"127.9.9.9:80".parse().unwrap()).is_ok());
        assert!(ensure_loopback(&"[::1]:80".parse().unwrap()).is_ok());
        assert!(ensure_loopback(&"10.0.0.1:80".parse().unwrap()).is_err());
        assert!(ensure_loopback(&"0.0.0.0:80".parse().unwrap()).is_err());
    }
}
