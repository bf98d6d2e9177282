//! Ends the way its argument says: `code N` exits with N (`proc_exit`),
//! `return` returns from main (exit 0), `trap` hits `unreachable`, `loop`
//! spins forever (for the time limit), `grow` allocates 256 MiB (past the
//! memory cap the test sets, so the allocation fails and Rust aborts).
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    println!("mode={mode}");
    match mode.as_str() {
        "code" => {
            let code: i32 = std::env::args()
                .nth(2)
                .and_then(|c| c.parse().ok())
                .expect("exit code");
            std::process::exit(code);
        }
        "return" => {}
        "trap" => std::process::abort(),
        "loop" => {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "grow" => {
            let big = vec![1u8; 256 << 20];
            println!("allocated {} bytes", std::hint::black_box(&big).len());
        }
        other => {
            eprintln!("unknown mode {other:?}");
            std::process::exit(2);
        }
    }
}
