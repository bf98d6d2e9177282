//! The clocks: prints the realtime clock in seconds since 1970 (the test
//! compares it with the host's), then checks that the monotonic clock moves
//! forward across a 20 ms sleep (`poll_oneoff`) and never backwards.
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasi_probes::check;

fn main() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("realtime after 1970");
    println!("realtime_s={}", now.as_secs());
    let before = Instant::now();
    std::thread::sleep(Duration::from_millis(20));
    let slept = before.elapsed();
    check(
        slept >= Duration::from_millis(20),
        &format!("slept 20 ms, monotonic says {slept:?}"),
    );
    check(
        slept < Duration::from_secs(5),
        &format!("a 20 ms sleep took {slept:?}"),
    );
    let mut last = Instant::now();
    for _ in 0..1000 {
        let t = Instant::now();
        check(t >= last, "the monotonic clock went backwards");
        last = t;
    }
    println!("monotonic=ok");
}
