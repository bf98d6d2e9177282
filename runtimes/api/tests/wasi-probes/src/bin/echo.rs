//! Copies stdin to stdout until end of input, then writes the byte count to
//! stderr as `echoed=N`.
use std::io::{Read, Write};

fn main() {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).expect("reading stdin");
    let mut out = std::io::stdout().lock();
    out.write_all(&input).expect("writing stdout");
    out.flush().expect("flushing stdout");
    eprintln!("echoed={}", input.len());
}
