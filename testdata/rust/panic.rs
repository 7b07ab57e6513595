// panic.rs: a Rust panic. The message goes to stderr and the program aborts:
// isle must end it with status 134 and show the message, as wazero does.
fn main() {
    println!("before the panic");
    let v: Vec<i32> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let i = v.len() + 2;
    if i > 1 {
        panic!("index {} is out of range for {} arguments", i, v.len());
    }
}
