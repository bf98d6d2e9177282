//! Loopback-only networking helpers: free ports and target checks.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};

use anyhow::{Context, Result, bail};

/// The only address the harness listens on or sends to.
pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Asks the kernel for `n` distinct free loopback ports.
///
/// The listeners are held until all ports are chosen, so the ports differ; a
/// port can still be taken by someone else before the child binds it, which
/// shows up as a start-up failure naming the port.
///
/// # Errors
/// The kernel refuses to bind on loopback.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
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
    fn only_loopback_is_accepted() {
        assert!(ensure_loopback(&"127.0.0.1:80".parse().unwrap()).is_ok());
        assert!(ensure_loopback(&"127.9.9.9:80".parse().unwrap()).is_ok());
        assert!(ensure_loopback(&"[::1]:80".parse().unwrap()).is_ok());
        assert!(ensure_loopback(&"10.0.0.1:80".parse().unwrap()).is_err());
        assert!(ensure_loopback(&"0.0.0.0:80".parse().unwrap()).is_err());
    }
}
