//! Prints the whole environment in the order WASI gives it, `KEY=VALUE` per
//! line, then `count=N`; with an argument, `lookup=<value of that key>` too.
fn main() {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    for (key, value) in &vars {
        println!("{key}={value}");
    }
    println!("count={}", vars.len());
    if let Some(key) = std::env::args().nth(1) {
        println!(
            "lookup={}",
            std::env::var(&key).unwrap_or_else(|_| "<unset>".into())
        );
    }
}
