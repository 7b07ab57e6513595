// dirall.rs: a Rust program that opens a directory as crates built on the
// raw WASI imports do, asking for every right and O_DIRECTORY, and lets the
// runtime reduce the rights to a directory's (WASI preview 1: requested
// rights are an upper bound). Run with an empty directory preopened as /d
// (fd 3); isle must print testdata/rust/dirall.out and exit 0.
use std::fs::File;
use std::os::wasi::io::FromRawFd;

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    fn path_open(fd: u32, dirflags: u32, path: *const u8, path_len: usize, oflags: u32,
                 base: u64, inheriting: u64, fdflags: u32, opened: *mut u32) -> u16;
    fn fd_fdstat_get(fd: u32, stat: *mut u8) -> u16;
}

const ALL: u64 = (1 << 29) - 1;
const OFLAGS_DIRECTORY: u32 = 2;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const RIGHT_FD_READDIR: u64 = 1 << 14;

fn rights(fd: u32) -> (u64, u64) {
    let mut st = [0u8; 24];
    let e = unsafe { fd_fdstat_get(fd, st.as_mut_ptr()) };
    assert_eq!(e, 0, "fd_fdstat_get");
    let base = u64::from_le_bytes(st[8..16].try_into().unwrap());
    let inh = u64::from_le_bytes(st[16..24].try_into().unwrap());
    (base, inh)
}

fn main() {
    std::fs::create_dir_all("/d/sub/deeper").expect("create_dir_all");
    let (base, inh) = rights(3);
    println!("preopen: fd_write in base {}, in inheriting {}", base & RIGHT_FD_WRITE != 0, inh & RIGHT_FD_WRITE != 0);
    let mut fd = 0u32;
    let path = b"sub";
    let e = unsafe { path_open(3, 1, path.as_ptr(), path.len(), OFLAGS_DIRECTORY, ALL, ALL, 0, &mut fd) };
    if e != 0 {
        println!("failed to open dir: errno {}", e);
        std::process::exit(1);
    }
    let (base, inh) = rights(fd);
    println!("sub: fd_readdir {}, fd_write {}, inherits fd_write {}", base & RIGHT_FD_READDIR != 0, base & RIGHT_FD_WRITE != 0, inh & RIGHT_FD_WRITE != 0);
    let f = unsafe { File::from_raw_fd(fd as i32) };
    println!("sub is a directory: {}", f.metadata().expect("metadata").is_dir());
    drop(f);
    std::fs::remove_dir_all("/d/sub").expect("remove_dir_all");
    println!("removed: {}", !std::path::Path::new("/d/sub").exists());
}
