// fs.rs: std::fs as a Rust program uses it, in the directory named by its
// first argument: create_dir_all, read_dir, File::open of a directory,
// metadata, rename, copy, symlinks, hard links, seek, truncation, set_len,
// append, create_new, permissions and remove_dir_all. Prints what it sees;
// isle must print testdata/rust/fs.out and exit 0.
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

extern "C" {
    // wasi-libc's symlink(2): std::os::wasi::fs::symlink_path is unstable in Rust 1.63.
    fn symlink(target: *const std::os::raw::c_char, link: *const std::os::raw::c_char) -> i32;
}

fn make_symlink(target: &str, link: &Path) -> io::Result<()> {
    let t = CString::new(target).unwrap();
    let l = CString::new(link.to_str().unwrap()).unwrap();
    if unsafe { symlink(t.as_ptr(), l.as_ptr()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("failed to open dir")
        .map(|e| {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            let kind = if t.is_dir() { "/" } else if t.is_symlink() { "@" } else { "" };
            format!("{}{}", e.file_name().to_str().unwrap(), kind)
        })
        .collect();
    names.sort();
    names
}

fn main() -> io::Result<()> {
    let base = std::env::args().nth(1).expect("usage: fs DIR");
    let base = Path::new(&base);
    println!("root listing: {:?}", list(base));
    let top = base.join("top");
    fs::create_dir_all(top.join("a/b/c"))?;
    fs::create_dir_all(top.join("a/b"))?; // already there: no error
    fs::write(top.join("a/f.txt"), b"hello, world\n")?;
    println!("listing: {:?}", list(&top.join("a")));

    let d = File::open(top.join("a"))?;
    println!("open dir: is_dir {}", d.metadata()?.is_dir());
    d.sync_all()?;
    let mut buf = Vec::new();
    println!("read a dir fails: {}", (&d).read_to_end(&mut buf).is_err());

    let m = fs::metadata(top.join("a/f.txt"))?;
    println!("metadata: len {} file {} dir {} readonly {}", m.len(), m.is_file(), m.is_dir(), m.permissions().readonly());
    println!("modified after 2020: {}", m.modified()?.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() > 1_577_836_800);
    println!("missing: {:?}", fs::metadata(top.join("nope")).map_err(|e| e.kind()).err());
    println!("mkdir existing: {:?}", fs::create_dir(top.join("a")).map_err(|e| e.kind()).err());

    fs::rename(top.join("a/f.txt"), top.join("a/b/g.txt"))?;
    println!("after rename: {:?} {:?}", list(&top.join("a")), list(&top.join("a/b")));
    println!("copy: {} bytes", fs::copy(top.join("a/b/g.txt"), top.join("a/copy.txt"))?);

    make_symlink("b/g.txt", &top.join("a/link"))?;
    println!("read_link: {:?}", fs::read_link(top.join("a/link"))?);
    println!("through the link: {:?}", fs::read_to_string(top.join("a/link"))?);
    println!("symlink_metadata is_symlink: {}", fs::symlink_metadata(top.join("a/link"))?.file_type().is_symlink());
    println!("metadata follows: is_file {}", fs::metadata(top.join("a/link"))?.is_file());

    fs::hard_link(top.join("a/copy.txt"), top.join("a/hard.txt"))?;
    OpenOptions::new().append(true).open(top.join("a/hard.txt"))?.write_all(b"appended\n")?;
    println!("hard link shares data: {:?}", fs::read_to_string(top.join("a/copy.txt"))?);

    let mut f = OpenOptions::new().read(true).write(true).open(top.join("a/copy.txt"))?;
    f.seek(SeekFrom::Start(7))?;
    f.write_all(b"WORLD")?;
    println!("seek end: {}", f.seek(SeekFrom::End(0))?);
    println!("seek back: {}", f.seek(SeekFrom::Current(-9))?);
    let mut tail = String::new();
    f.read_to_string(&mut tail)?;
    println!("tail: {:?}", tail);
    f.set_len(5)?;
    println!("set_len 5: {}", f.metadata()?.len());
    f.set_len(8)?;
    f.seek(SeekFrom::Start(0))?;
    let mut all = Vec::new();
    f.read_to_end(&mut all)?;
    println!("set_len 8: {:?}", all);
    drop(f);
    File::create(top.join("a/copy.txt"))?; // truncates
    println!("truncated: {}", fs::metadata(top.join("a/copy.txt"))?.len());
    println!("create_new existing: {:?}", OpenOptions::new().write(true).create_new(true).open(top.join("a/copy.txt")).map_err(|e| e.kind()).err());

    let mut p = fs::metadata(top.join("a/hard.txt"))?.permissions();
    p.set_readonly(true);
    println!("set_permissions: {:?}", fs::set_permissions(top.join("a/hard.txt"), p).map_err(|e| e.kind()));

    fs::remove_file(top.join("a/hard.txt"))?;
    println!("remove_dir non-empty: {}", fs::remove_dir(top.join("a")).is_err());
    fs::remove_dir_all(&top)?;
    println!("after remove_dir_all: {:?} exists {}", list(base), top.exists());
    Ok(())
}
