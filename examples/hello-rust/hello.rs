// hello-rust is isle's first Rust program: it prints its arguments and the
// GREETING environment variable, and exits with the status given after
// --exit. Built with Debian's rustc 1.63 (libstd-rust-dev-wasm32), from the
// source tree's root:
//
//	rustc --edition 2021 -O -C strip=symbols --target wasm32-wasi -o examples/hello-rust/hello-rust.wasm examples/hello-rust/hello.rs
//	isle run --env GREETING=hi examples/hello-rust/hello-rust.wasm a b --exit 3
use std::process::exit;

fn main() {
    println!("hello from Rust");
    let args: Vec<String> = std::env::args().collect();
    let mut status = 0;
    for (i, a) in args.iter().enumerate() {
        println!("argv[{}] = {}", i, a);
        if a == "--exit" {
            if let Some(s) = args.get(i + 1) {
                match s.parse::<i32>() {
                    Ok(n) => status = n,
                    Err(_) => {
                        eprintln!("hello-rust: bad exit status \"{}\"", s);
                        exit(2);
                    }
                }
            }
        }
    }
    println!("GREETING = {}", std::env::var("GREETING").unwrap_or_default());
    exit(status);
}
