package procapi

import (
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"isle/internal/sandbox"
	"isle/internal/wasip1"
)

// Spawning a program already loaded without the loader.
//
// A spawn used to ask the loader service for its module every time: the
// parent's core sent the request and polled for the reply, the service's
// worker polled its rings, and a goroutine of the loader opened and stat'ed
// the file to check it had not changed, for a module it had compiled
// already. Now the loader watches, with inotify, every directory on the
// path of each module it loaded (by the file's own directory's inode and
// each one above it, up to the preopen), and a spawn on the parent's core
// takes the module from the loader's published table when the inotify
// queue holds no event: nothing under those directories has been created,
// deleted, renamed, written or had its attributes changed since the table
// was checked. The check is one ioctl(FIONREAD, which x/sys/unix names
// TIOCINQ) on the inotify descriptor, which reads a count in memory and
// cannot block, so the core does it (a core never blocks on the host). Any pending event sends every spawn back
// to the loader, which drains the queue, empties the table and checks each
// program again as before (open, stat, size and modification time) on its
// next load, publishing it again.
//
// Ordering: a change to a file completes only after its event is queued,
// so a spawn that the change happened before sees the event pending. The
// core reads the count before the table; the loader drains and empties
// the table under its lock, and publishes a module only if no drain
// happened since it drained before opening the file (gen), and no event is
// pending then.
//
// The events also correct the loader's own cache, which knew a file by its
// size and modification time: Linux stamps files from a coarse clock (a
// tick, 4 ms here), so a program rewritten with another of the same size
// within a tick of the last write looked unchanged (TestSpawnSeesAProgram-
// Changed caught it). A drained event that names a cached file, or a
// directory above it, drops the cache's entry, and a load that began before
// a drain does not store what it compiled (the file may have changed
// since). A path with a symbolic link in it is never published (the
// link's target may lie in a directory nobody watches), nor is one whose
// directories cannot be watched (inotify's limits, a file system without
// it): those go to the loader every time, as before. A mount over a watched
// directory makes no event; that is not seen.

// The inotify events that unpublish the table (inotify(7)).
const watchMask = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_MOVED_FROM |
	unix.IN_MOVED_TO | unix.IN_CREATE | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF |
	unix.IN_ONLYDIR

// fastTable is the loader's published table of loaded programs.
//
// Ownership: everything but mods is guarded by the Loader's mu (the
// loader's goroutines); mods is replaced (never changed) under it and read
// without a lock by any core. fd is set once, before any table is
// published, so a core that has found a table reads it without the lock;
// it is closed after every core has ended.
type fastTable struct {
	opened bool // inotify was tried
	fd     int  // the inotify descriptor; -1 without inotify
	gen    uint64
	dirs   map[int32]watched // watch descriptor → the directory it watches
	mods   atomic.Pointer[map[string]*sandbox.Module]
}

// watched is a watched directory: its preopen's host directory and its
// path in it ("." for the preopen itself).
type watched struct{ host, dir string }

// changed is what an event says may have changed: the path (in host's
// preopen) and, when tree is set, everything below it.
type changed struct {
	host, path string
	tree       bool
}

// lookup returns the published module for key, or nil. It runs on a core.
func (t *fastTable) lookup(key string) *sandbox.Module {
	if t.mods.Load() == nil {
		return nil
	}
	if n, err := unix.IoctlGetInt(t.fd, unix.TIOCINQ); err != nil || n != 0 {
		return nil // a change under a watched directory, or no way to tell
	}
	// The count first, then the table: a table read after an empty queue
	// was published after the last drain (see above).
	m := t.mods.Load()
	if m == nil {
		return nil
	}
	return (*m)[key]
}

// begin watches the directories on rel's path in root (rel is clean and
// relative; host is root's host directory), drains the queue and returns
// the generation to publish with and what the drained events say changed;
// false if the directories cannot be watched. Called with the Loader's mu.
func (t *fastTable) begin(root *os.Root, host, rel string) (uint64, bool, []changed) {
	if !t.opened {
		t.opened = true
		fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
		if err != nil {
			fd = -1
		}
		t.fd, t.dirs = fd, map[int32]watched{}
	}
	if t.fd < 0 {
		return 0, false, nil
	}
	ok := true
	for dir := path.Dir(rel); ok; dir = path.Dir(dir) {
		ok = t.watch(root, host, dir)
		if dir == "." {
			break
		}
	}
	ch := t.drain()
	return t.gen, ok, ch
}

// watch adds a watch on the directory dir of root, by the inode root
// opens (the host path could name another directory by now).
func (t *fastTable) watch(root *os.Root, host, dir string) bool {
	f, err := root.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	wd, err := unix.InotifyAddWatch(t.fd, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), watchMask)
	if err != nil {
		return false
	}
	t.dirs[int32(wd)] = watched{host, dir}
	return true
}

// drain reads every pending event and returns what they say changed; if
// there was one, the table is emptied and the generation moves on. Called
// with the Loader's mu.
func (t *fastTable) drain() []changed {
	var buf [4096]byte
	var ch []changed
	for {
		n, err := unix.Read(t.fd, buf[:])
		if n <= 0 || err != nil {
			break
		}
		for b := buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
			end := unix.SizeofInotifyEvent + int(ev.Len)
			if end > len(b) {
				break
			}
			name := strings.TrimRight(string(b[unix.SizeofInotifyEvent:end]), "\x00")
			b = b[end:]
			w, known := t.dirs[ev.Wd]
			switch {
			case !known || ev.Mask&unix.IN_Q_OVERFLOW != 0:
				ch = append(ch, changed{tree: true}) // all of it
			case ev.Mask&unix.IN_IGNORED != 0:
				delete(t.dirs, ev.Wd)
			case name == "":
				ch = append(ch, changed{host: w.host, path: w.dir, tree: true}) // the directory itself
			default:
				ch = append(ch, changed{host: w.host, path: path.Join(w.dir, name), tree: ev.Mask&unix.IN_ISDIR != 0})
			}
		}
		t.gen++
		t.mods.Store(nil)
	}
	return ch
}

// matches reports whether a cache key (cacheKey) is one a change covers.
func (c changed) matches(key string) bool {
	if c.host == "" {
		return true
	}
	if c.tree && c.path == "." {
		return strings.HasPrefix(key, c.host+"\x00")
	}
	k := c.host + "\x00" + c.path
	return key == k || (c.tree && strings.HasPrefix(key, k+"/"))
}

// publish adds mod under key, loaded since the drain of generation gen,
// unless a drain happened since or an event is pending, or rel's path has
// a symbolic link in it. Called with the Loader's mu.
func (t *fastTable) publish(root *os.Root, rel string, gen uint64, key string, mod *sandbox.Module) {
	for p := rel; p != "."; p = path.Dir(p) {
		fi, err := root.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			return
		}
	}
	if !t.opened || t.fd < 0 || gen != t.gen {
		return
	}
	if n, err := unix.IoctlGetInt(t.fd, unix.TIOCINQ); err != nil || n != 0 {
		return
	}
	old := t.mods.Load()
	m := make(map[string]*sandbox.Module, 1)
	if old != nil {
		if (*old)[key] == mod {
			return
		}
		for k, v := range *old {
			m[k] = v
		}
	}
	m[key] = mod
	t.mods.Store(&m)
}

// close releases the descriptor; no core runs any more. Called with the
// Loader's mu.
func (t *fastTable) close() {
	if t.opened && t.fd >= 0 {
		unix.Close(t.fd)
	}
	t.opened, t.fd = true, -1
	t.mods.Store(nil)
}

// resolve maps a guest path to its preopen and its path relative to the
// preopen's host directory, or an errno.
func resolve(preopens []Preopen, p string) (Preopen, string, wasip1.Errno) {
	clean := path.Clean("/" + p)
	for _, po := range preopens {
		g := path.Clean("/" + po.Guest)
		if clean == g {
			return Preopen{}, "", wasip1.ErrnoAcces // a directory
		}
		prefix := strings.TrimSuffix(g, "/") + "/"
		if strings.HasPrefix(clean, prefix) {
			if strings.Contains(p, "..") {
				return Preopen{}, "", wasip1.ErrnoNoent
			}
			return po, strings.TrimPrefix(clean, prefix), 0
		}
	}
	return Preopen{}, "", wasip1.ErrnoNoent
}

// cacheKey names a program by its preopen's host directory and its path
// in it.
func cacheKey(pre Preopen, rel string) string { return pre.Host + "\x00" + rel }
