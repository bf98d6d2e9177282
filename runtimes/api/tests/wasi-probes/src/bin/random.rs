//! Two 32-byte draws from `random_get`, printed in hex; they must differ from
//! each other and from all zeroes. The test runs it twice and compares runs.
use wasi_probes::{check, hex, random_bytes};

fn main() {
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    check(random_bytes(&mut a) == 0, "random_get failed");
    check(random_bytes(&mut b) == 0, "random_get failed");
    check(a != [0; 32] && b != [0; 32], "random_get gave zeroes");
    check(a != b, "two random_get draws were equal");
    println!("draw1={}", hex(&a));
    println!("draw2={}", hex(&b));
}
