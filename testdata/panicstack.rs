// panicstack indexes past the end of a vector in inner, called by main:
// Rust panics (its message on stderr) and aborts, which traps
// ("unreachable"). isle must exit 134 and print the trap line, then the
// guest's stack with Rust's paths (panicstack::inner, panicstack::main).
#[inline(never)]
fn inner(v: &[i32], i: usize) -> i32 {
    v[i]
}

fn main() {
    let v = vec![1, 2, 3];
    let i = std::env::args().count() + 5;
    println!("{}", inner(&v, i));
}
