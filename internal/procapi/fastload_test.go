package procapi

import (
	"os"
	"path/filepath"
	"testing"

	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/wasip1"
)

// fastDir makes host/sub/prog.wasm and opens host as a root.
func fastDir(t *testing.T) (string, *os.Root) {
	t.Helper()
	host := t.TempDir()
	if err := os.MkdirAll(filepath.Join(host, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "sub", "prog.wasm"), []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return host, root
}

// load is what Loader.load does around the file's read: begin, then publish.
func fastLoad(t *testing.T, ft *fastTable, root *os.Root, rel string, mod *sandbox.Module) {
	t.Helper()
	gen, ok, _ := ft.begin(root, "h", rel)
	if !ok {
		t.Skip("no inotify here")
	}
	ft.publish(root, rel, gen, rel, mod)
}

// TestFastTableSeesChanges: a published program is found until something
// changes under the directories on its path (the file written, another
// file renamed over it, a directory above it renamed, its attributes); a
// load then publishes it again.
func TestFastTableSeesChanges(t *testing.T) {
	mod := &sandbox.Module{}
	changes := []struct {
		name   string
		change func(host string) error
	}{
		{"file written", func(h string) error {
			return os.WriteFile(filepath.Join(h, "sub", "prog.wasm"), []byte("two"), 0o644)
		}},
		{"file replaced by a rename", func(h string) error {
			if err := os.WriteFile(filepath.Join(h, "sub", "new"), []byte("three"), 0o644); err != nil {
				return err
			}
			return os.Rename(filepath.Join(h, "sub", "new"), filepath.Join(h, "sub", "prog.wasm"))
		}},
		{"file made unreadable", func(h string) error { return os.Chmod(filepath.Join(h, "sub", "prog.wasm"), 0) }},
		{"directory above renamed", func(h string) error {
			return os.Rename(filepath.Join(h, "sub"), filepath.Join(h, "old"))
		}},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			host, root := fastDir(t)
			var ft fastTable
			defer ft.close()
			fastLoad(t, &ft, root, "sub/prog.wasm", mod)
			if got := ft.lookup("sub/prog.wasm"); got != mod {
				t.Fatal("a program just loaded is not published")
			}
			if err := c.change(host); err != nil {
				t.Fatal(err)
			}
			if ft.lookup("sub/prog.wasm") != nil {
				t.Fatal("found after the change")
			}
			if c.name == "directory above renamed" {
				return
			}
			fastLoad(t, &ft, root, "sub/prog.wasm", mod)
			if ft.lookup("sub/prog.wasm") != mod {
				t.Error("not published again by the next load")
			}
		})
	}
}

// TestFastTableRefusesStaleLoads: a load that began before another drained
// the queue does not publish what it read (it may predate the change that
// other load saw), and a path through a symbolic link is never published.
func TestFastTableRefusesStaleLoads(t *testing.T) {
	host, root := fastDir(t)
	var ft fastTable
	defer ft.close()
	mod := &sandbox.Module{}
	gen, ok, _ := ft.begin(root, "h", "sub/prog.wasm")
	if !ok {
		t.Skip("no inotify here")
	}
	os.WriteFile(filepath.Join(host, "sub", "prog.wasm"), []byte("two"), 0o644)
	if _, ok, _ := ft.begin(root, "h", "sub/prog.wasm"); !ok { // another load drains
		t.Fatal("begin failed")
	}
	ft.publish(root, "sub/prog.wasm", gen, "sub/prog.wasm", mod)
	if ft.lookup("sub/prog.wasm") != nil {
		t.Error("a load from before a drain was published")
	}

	if err := os.Symlink("sub", filepath.Join(host, "link")); err != nil {
		t.Fatal(err)
	}
	fastLoad(t, &ft, root, "link/prog.wasm", mod)
	if ft.lookup("link/prog.wasm") != nil {
		t.Error("a path through a symbolic link was published")
	}
}

// TestResolve keeps the loader's path rules: a preopen's own directory is
// EACCES, a path outside every preopen or with ".." is ENOENT.
func TestResolve(t *testing.T) {
	pre := []Preopen{{Guest: "/bin", Host: "/h/bin"}, {Guest: "/", Host: "/h/root"}}
	cases := []struct {
		p, host, rel string
		errno        wasip1.Errno
	}{
		{"/bin/x.wasm", "/h/bin", "x.wasm", 0},
		{"bin/sub/x.wasm", "/h/bin", "sub/x.wasm", 0},
		{"/bin", "", "", wasip1.ErrnoAcces},
		{"/bin/../bin/x.wasm", "", "", wasip1.ErrnoNoent},
		{"/other/x.wasm", "/h/root", "other/x.wasm", 0},
	}
	for _, c := range cases {
		po, rel, errno := resolve(pre, c.p)
		if errno != c.errno || po.Host != c.host || rel != c.rel {
			t.Errorf("resolve(%q) = %q %q %d, want %q %q %d", c.p, po.Host, rel, errno, c.host, c.rel, c.errno)
		}
	}
	if _, _, errno := resolve(pre[:1], "/etc/x.wasm"); errno != wasip1.ErrnoNoent {
		t.Errorf("outside every preopen: errno %d", errno)
	}
}

// TestDrainNamesWhatChanged: the drained events name the file written, or
// the directory renamed (with everything below it), so that the loader
// drops exactly the cache entries they may have made stale.
func TestDrainNamesWhatChanged(t *testing.T) {
	host, root := fastDir(t)
	var ft fastTable
	defer ft.close()
	if _, ok, _ := ft.begin(root, "h", "sub/prog.wasm"); !ok {
		t.Skip("no inotify here")
	}
	os.WriteFile(filepath.Join(host, "sub", "prog.wasm"), []byte("two"), 0o644)
	_, _, ch := ft.begin(root, "h", "sub/prog.wasm")
	if len(ch) == 0 || !ch[0].matches("h\x00sub/prog.wasm") || ch[0].matches("h\x00sub/other.wasm") || ch[0].matches("g\x00sub/prog.wasm") {
		t.Errorf("a write: changes %+v", ch)
	}
	os.Rename(filepath.Join(host, "sub"), filepath.Join(host, "old"))
	_, _, ch = ft.begin(root, "h", "other.wasm")
	hit := false
	for _, c := range ch {
		hit = hit || c.matches("h\x00sub/prog.wasm")
	}
	if !hit {
		t.Errorf("a directory renamed: changes %+v do not cover the file below it", ch)
	}
	if (changed{host: "h", path: ".", tree: true}).matches("g\x00x") || !(changed{}).matches("g\x00x") {
		t.Error("matches: a preopen's root covers only its own keys; an overflow covers all")
	}
}

// TestLoadReqRoundTrip: the path a load request's Put writes is the one the
// loader reads, and a reply's module moves out of the request.
func TestLoadReqRoundTrip(t *testing.T) {
	r := &kernel.Request{Op: 99, Str: "old", Str2: "x", Ref: 1}
	loadReq{Path: "/bin/x.wasm"}.Put(r)
	if r.Op != opLoad || loadOf(r) != (loadReq{Path: "/bin/x.wasm"}) {
		t.Errorf("put %+v, read %+v", r, loadOf(r))
	}
	if mod := loaded(r); mod != nil || r.Ref != nil {
		t.Errorf("loaded = %v, Ref left %v", mod, r.Ref)
	}
}
