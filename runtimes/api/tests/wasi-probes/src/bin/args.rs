//! Prints `argc` and every argument, one per line, as `argv[i]=…`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("argc={}", args.len());
    for (i, arg) in args.iter().enumerate() {
        println!("argv[{i}]={arg}");
    }
}
