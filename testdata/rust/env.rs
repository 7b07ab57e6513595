// env.rs: std::env and std::process::exit. Prints its arguments and the
// environment (sorted), then exits with the status given as its first
// argument; isle must print testdata/rust/env.out and exit with that status.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("argc {}", args.len());
    for (i, a) in args.iter().enumerate().skip(1) {
        println!("arg {} {:?}", i, a);
    }
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    for (k, v) in &vars {
        println!("env {}={:?}", k, v);
    }
    println!("var GREETING: {:?}", std::env::var("GREETING"));
    println!("var MISSING: {:?}", std::env::var("MISSING").is_err());
    let status: i32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    std::process::exit(status);
}
