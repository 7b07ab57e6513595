// dotdir reads, lists and writes files by relative names, as a program run
// with its working directory preopened (`isle run --dir .`) does: it prints
// what it read, the sorted listing of ".", and writes out.txt.
use std::fs;

fn main() {
    let s = fs::read_to_string("hello.txt").expect("hello.txt");
    print!("read: {}", s);
    let mut names: Vec<String> = fs::read_dir(".")
        .expect("read_dir .")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    println!("ls: [{}]", names.join(" "));
    fs::write("out.txt", "written\n").expect("out.txt");
}
