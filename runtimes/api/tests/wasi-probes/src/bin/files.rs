//! A preopened directory, read and write. Argument: the guest path of the
//! directory (e.g. `/data`). Reads `input.txt`, writes `output.txt` (the
//! input reversed, line by line), reopens it to check length, seek and
//! read-back, appends to it, creates `sub/nested.txt`, and checks that a
//! missing file and a path that climbs out of the directory both fail.
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use wasi_probes::check;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: files <guest dir>");
    let dir = Path::new(&dir);

    let input = fs::read_to_string(dir.join("input.txt")).expect("reading input.txt");
    println!("input={}", input.trim_end());

    let reversed: String = input.trim_end().chars().rev().collect();
    {
        let mut out = File::create(dir.join("output.txt")).expect("creating output.txt");
        out.write_all(reversed.as_bytes()).expect("writing output.txt");
        out.write_all(b"\n").expect("writing output.txt");
    }

    let mut out = File::open(dir.join("output.txt")).expect("reopening output.txt");
    let len = out.metadata().expect("fd_filestat_get").len();
    check(
        len == reversed.len() as u64 + 1,
        &format!("output.txt is {len} bytes"),
    );
    println!("output_len={len}");
    out.seek(SeekFrom::Start(2)).expect("fd_seek");
    let mut tail = String::new();
    out.read_to_string(&mut tail).expect("reading after seek");
    check(
        tail == format!("{}\n", &reversed[2..]),
        &format!("read back {tail:?} after seek"),
    );
    let end = out.seek(SeekFrom::End(0)).expect("fd_seek to the end");
    check(end == len, &format!("seek to end gave {end}"));
    println!("seek=ok");
    drop(out);

    let mut append = OpenOptions::new()
        .append(true)
        .open(dir.join("output.txt"))
        .expect("opening to append");
    append.write_all(b"appended\n").expect("appending");
    drop(append);

    fs::create_dir_all(dir.join("sub")).expect("creating sub/");
    fs::write(dir.join("sub/nested.txt"), b"nested\n").expect("writing sub/nested.txt");
    println!("nested=ok");

    let missing = File::open(dir.join("no-such-file.txt"));
    check(missing.is_err(), "opening a missing file succeeded");
    println!("missing={:?}", missing.err().map(|e| e.kind()).unwrap());

    let escape = File::open(dir.join("../escape.txt"));
    check(escape.is_err(), "a path out of the preopened directory opened");
    println!("escape=denied");
}
