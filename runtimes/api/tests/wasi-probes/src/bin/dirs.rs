//! Directories of a preopened directory: listing (`fd_readdir`), renaming
//! (`path_rename`) and removing. Argument: the guest path of the directory
//! (e.g. `/data`), which holds `a.txt`. Creates `b.txt` and `sub/`, lists the
//! directory, renames `a.txt` to `sub/moved.txt` and `b.txt` to `c.txt`,
//! lists again (and `sub/`), then removes `c.txt`; what is left on the host
//! is checked by the test.
use std::fs;
use std::path::Path;

use wasi_probes::check;

/// The names in `dir`, sorted (the order `fd_readdir` gives is the
/// runtime's), `.` and `..` left out as std does.
fn list(dir: &Path) -> String {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("fd_readdir")
        .map(|entry| {
            let entry = entry.expect("a directory entry");
            let kind = entry.file_type().expect("the entry's type");
            let suffix = if kind.is_dir() { "/" } else { "" };
            format!("{}{suffix}", entry.file_name().to_string_lossy())
        })
        .collect();
    names.sort();
    names.join(",")
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: dirs <guest dir>");
    let dir = Path::new(&dir);

    fs::write(dir.join("b.txt"), b"bee\n").expect("writing b.txt");
    fs::create_dir(dir.join("sub")).expect("creating sub/");
    println!("before={}", list(dir));

    fs::rename(dir.join("a.txt"), dir.join("sub/moved.txt")).expect("renaming a.txt into sub/");
    fs::rename(dir.join("b.txt"), dir.join("c.txt")).expect("renaming b.txt to c.txt");
    check(!dir.join("a.txt").exists(), "a.txt is still there after the rename");
    println!("after={}", list(dir));
    println!("sub={}", list(&dir.join("sub")));
    let moved = fs::read_to_string(dir.join("sub/moved.txt")).expect("reading sub/moved.txt");
    println!("moved={}", moved.trim_end());

    fs::remove_file(dir.join("c.txt")).expect("removing c.txt");
    println!("removed={}", list(dir));

    let escape = fs::rename(dir.join("sub/moved.txt"), dir.join("../escaped.txt"));
    check(escape.is_err(), "a rename out of the preopened directory succeeded");
    println!("escape=denied");
}
