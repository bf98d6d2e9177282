//! `--instances reuse`: warm instances serve later requests, and an instance
//! whose request failed in any way is never served again.

mod common;

use blueprint_host::server::{HostStats, Instances};
use common::{guest, request, start};

/// Counts the calls its instance has seen in a global and answers the count
/// as one ASCII digit; `u` traps and `x` is refused, each after counting. A
/// reused instance answers 2, 3, …; a fresh one 1.
fn tally() -> String {
    guest(
        "(global $n (mut i32) (i32.const 0))",
        "(global.set $n (i32.add (global.get $n) (i32.const 1)))
         (i32.store8 (i32.const 200) (i32.add (global.get $n) (i32.const 48)))
         (if (i32.eq (i32.load8_u (local.get 0)) (i32.const 117)) (then unreachable))
         (if (i32.eq (i32.load8_u (local.get 0)) (i32.const 120))
           (then (return (i64.const 0x000000C880000001))))
         i64.const 0x000000C800000001",
    )
}

fn stats(host: &common::Host) -> (u64, u64, u64) {
    let (status, body) = request(host.addr, "GET", "/stats", &[], b"");
    assert_eq!(status, 200);
    let stats: HostStats = serde_json::from_slice(&body).unwrap();
    let m = stats.modules["tally"];
    (m.requests, m.instances_created, m.instances_reused)
}

fn post(host: &common::Host, body: &str) -> (u16, String) {
    let (status, answer) = request(host.addr, "POST", "/tally", &[], body.as_bytes());
    (status, String::from_utf8_lossy(&answer).into_owned())
}

#[test]
fn a_failed_request_drops_its_instance_and_a_good_one_keeps_it() {
    for runtime in ["wasmtime", "wasmer"] {
        let host = start(runtime, &[("tally", tally())], |args| {
            args.instances = Instances::Reuse;
        });
        assert_eq!(post(&host, "a"), (200, "1".into()), "{runtime}: a new instance");
        assert_eq!(
            post(&host, "a"),
            (200, "2".into()),
            "{runtime}: the same instance again"
        );
        let (status, _) = post(&host, "u");
        assert_eq!(
            status, 500,
            "{runtime}: the reused instance traps on its third call"
        );
        assert_eq!(
            post(&host, "a"),
            (200, "1".into()),
            "{runtime}: the instance that trapped must not serve again"
        );
        assert_eq!(post(&host, "a"), (200, "2".into()), "{runtime}");
        assert_eq!(
            post(&host, "x"),
            (422, "3".into()),
            "{runtime}: a refused request"
        );
        assert_eq!(
            post(&host, "a"),
            (200, "1".into()),
            "{runtime}: the instance that refused must not serve again"
        );
        // 7 requests: instances for the 1st, 4th and 7th; the rest warm.
        assert_eq!(stats(&host), (7, 3, 4), "{runtime}: requests, created, reused");
    }
}

#[test]
fn fresh_instances_never_see_an_earlier_request() {
    let host = start("wasmtime", &[("tally", tally())], |_| {});
    for _ in 0..3 {
        assert_eq!(post(&host, "a"), (200, "1".into()));
    }
    assert_eq!(stats(&host), (3, 3, 0));
}
