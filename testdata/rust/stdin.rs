// stdin.rs: std::io::stdin read line by line until end of file. Prints each
// line reversed with its number, then the count and the sum of the numbers
// among them; isle must print testdata/rust/stdin.out and exit 0.
use std::io::{self, BufRead, Write};

fn main() {
    let stdin = io::stdin();
    let mut out = io::stdout().lock();
    let (mut n, mut sum) = (0, 0i64);
    for line in stdin.lock().lines() {
        let line = line.expect("read stdin");
        n += 1;
        if let Ok(v) = line.trim().parse::<i64>() {
            sum += v;
        }
        let rev: String = line.chars().rev().collect();
        writeln!(out, "{:3} {}", n, rev).unwrap();
    }
    writeln!(out, "lines {} sum {}", n, sum).unwrap();
}
