package procapi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/wasip1"
)

// Loader operations.
const opLoad uint32 = 1 // loadReq

// loadReq asks the loader for the compiled module of Path (a guest path,
// resolved in the preopens); the reply's module is loaded(req).
type loadReq struct {
	Path string
}

// Put makes r this request.
func (a loadReq) Put(r *kernel.Request) {
	r.Op, r.Str = opLoad, a.Path
}

func loadOf(r *kernel.Request) loadReq { return loadReq{Path: r.Str} }

// loaded is a load's result, taken from the reply: the module moves to
// the caller.
func loaded(r *kernel.Request) *sandbox.Module {
	mod, _ := r.Ref.(*sandbox.Module)
	r.Ref = nil
	return mod
}

// Loader is the service that reads and compiles module files for spawn.
// Compiled modules are kept by host path, size and modification time.
//
// The rules of the service:
//
//   - No load holds the loader's worker: each runs on a goroutine of its
//     own (the request is deferred, kernel.Request.Defer), at most
//     runtime.GOMAXPROCS at once, so one slow compile (a module of 60,000
//     nested blocks takes wazero tens of seconds) holds up only itself.
//   - A kill of the spawning SIP answers its request at once (EINTR, never
//     seen) and cancels the load's context; Close (at machine stop) cancels
//     every load and does not wait for them. wazero looks at the context
//     only between functions, so a compile inside one huge function runs
//     to its end on its goroutine, and its result is dropped. The runtime
//     must outlive it (wazero panics compiling on a closed runtime): the
//     machine closes its runtime through WhenIdle.
//
// Ownership: api is immutable; cache, roots, compiles and fast (but its published
// table, which cores read) are guarded by mu (loads run on their own
// goroutines); waits is owned by the worker's goroutine;
// ctx is cancelled once, by Close.
type Loader struct {
	api    *API
	mu     sync.Mutex
	cache  map[string]cached
	roots  map[string]*os.Root // nil once closed
	closed bool                // no load starts once set
	loads  int                 // loads that may still compile
	idle   []func()            // to run when loads falls to 0 after Close
	slots  chan struct{}       // one per compile running
	waits  map[*kernel.Request]*loadWait
	ctx    context.Context
	cancel context.CancelFunc
	fast   fastTable // programs loaded and unchanged since, for spawns on the cores (fastload.go)
	// compiles counts the modules compiled, each a load the cache could
	// not answer (Compiles).
	compiles int
}

// loadWait is one deferred load; whoever answers it first (the load, or a
// cancel) sets done.
type loadWait struct {
	d      kernel.Deferred
	done   atomic.Bool
	cancel context.CancelFunc
}

type cached struct {
	size  int64
	mtime int64
	ino   uint64
	mod   *sandbox.Module
}

// Loader returns the loader service of the API.
func (a *API) Loader() *Loader {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loader{api: a, cache: map[string]cached{}, roots: map[string]*os.Root{},
		slots: make(chan struct{}, runtime.GOMAXPROCS(0)), waits: map[*kernel.Request]*loadWait{},
		ctx: ctx, cancel: cancel}
	a.ld = l
	return l
}

// Serve implements kernel.Service.
func (l *Loader) Serve(req *kernel.Request) {
	if req.Op != opLoad {
		req.Errno = wasip1.ErrnoInval
		return
	}
	ctx, cancel := context.WithCancel(l.ctx)
	w := &loadWait{d: req.Defer(), cancel: cancel}
	l.waits[req] = w
	name := loadOf(req).Path
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		cancel()
		req.Errno = wasip1.ErrnoIntr
		w.done.Store(true)
		delete(l.waits, req)
		w.d.Finish(nil)
		return
	}
	l.loads++
	l.mu.Unlock()
	go func() {
		defer l.loadEnded()
		defer cancel()
		var mod *sandbox.Module
		errno := wasip1.ErrnoIntr
		select {
		case l.slots <- struct{}{}:
			mod, errno, _ = l.load(ctx, name)
			<-l.slots
		case <-ctx.Done():
		}
		if !w.done.CompareAndSwap(false, true) {
			return // cancelled: answered already
		}
		w.d.Finish(func() {
			delete(l.waits, req)
			req.Errno = errno
			if errno == 0 {
				req.Ref = mod // loaded(req)
			}
		})
	}()
}

// LoadPath returns the compiled module of the program at guest path p, for
// a caller off the cores (a spawn another node asked for: isle's
// remote.go): from the cache while the file is unchanged, else read and
// compiled, as for a SIP's spawn. It waits for a compile slot as a SIP's
// load does, and counts among the loads WhenIdle waits for, so the runtime
// outlives its compile; Close cancels it. The module is the loader's: the
// caller must not close it. err says what failed, errno is its WASI errno.
func (l *Loader) LoadPath(ctx context.Context, p string) (*sandbox.Module, wasip1.Errno, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, wasip1.ErrnoIntr, errors.New("the machine is stopping")
	}
	l.loads++
	l.mu.Unlock()
	defer l.loadEnded()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(l.ctx, cancel)()
	select {
	case l.slots <- struct{}{}:
		defer func() { <-l.slots }()
	case <-ctx.Done():
		return nil, wasip1.ErrnoIntr, ctx.Err()
	}
	return l.load(ctx, p)
}

// Compiles is how many modules the loader has compiled: loads that the
// cache could not answer.
func (l *Loader) Compiles() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.compiles
}

// Cancel implements kernel.Canceler: the spawning SIP was killed.
func (l *Loader) Cancel(req *kernel.Request) {
	w := l.waits[req]
	if w == nil || !w.done.CompareAndSwap(false, true) {
		return
	}
	w.cancel()
	w.d.Finish(func() {
		delete(l.waits, req)
		req.Errno = wasip1.ErrnoIntr
	})
}

// Close implements kernel.Closer: it cancels every load (without waiting
// for a compile that does not look at its context) and closes the roots.
func (l *Loader) Close() {
	l.cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for _, r := range l.roots {
		r.Close()
	}
	l.roots = nil
	l.fast.close()
}

// WhenIdle runs f once no load can compile any more: at once if none is
// running, else on the goroutine of the last to end. Call it after Close.
func (l *Loader) WhenIdle(f func()) {
	l.mu.Lock()
	if !l.closed {
		l.mu.Unlock()
		panic("procapi: WhenIdle before Close")
	}
	if l.loads > 0 {
		l.idle = append(l.idle, f)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	f()
}

// loadEnded counts a load out, and runs what waited for the last.
func (l *Loader) loadEnded() {
	l.mu.Lock()
	l.loads--
	var run []func()
	if l.loads == 0 {
		run, l.idle = l.idle, nil
	}
	l.mu.Unlock()
	for _, f := range run {
		f()
	}
}

// load returns the module of guest path p; err says what failed.
func (l *Loader) load(ctx context.Context, p string) (*sandbox.Module, wasip1.Errno, error) {
	pre, rel, errno := resolve(l.api.preopens, p)
	if errno != 0 {
		return nil, errno, errors.New("not a file in a preopened directory")
	}
	root, err := l.root(pre.Host)
	if err != nil {
		if e, _ := wasip1.FromError(err); e == wasip1.ErrnoNfile {
			return nil, e, err // the host's limit: the machine's, not the SIP's
		}
		return nil, wasip1.ErrnoIo, err
	}
	// Watched (and the queue drained) before the file is opened, so that
	// any change after what this load reads unpublishes it (fastload.go).
	l.mu.Lock()
	gen, watched, changes := l.fast.begin(root, pre.Host, rel)
	l.forget(changes)
	l.mu.Unlock()
	mod, errno, err := l.loadFrom(ctx, root, pre, rel, gen)
	if errno == 0 && watched {
		l.mu.Lock()
		l.fast.publish(root, rel, gen, cacheKey(pre, rel), mod)
		l.mu.Unlock()
	}
	return mod, errno, err
}

// forget drops the cache's entries that changes may have made stale.
// Called with mu held.
func (l *Loader) forget(changes []changed) {
	for _, c := range changes {
		for k := range l.cache {
			if c.matches(k) {
				delete(l.cache, k)
			}
		}
	}
}

// loadFrom opens the file rel of root and returns its module, compiled
// unless the cache holds it for the file's size, modification time and
// inode; what it compiles is cached unless the event queue was drained
// after gen (the file may have changed since it was read). err says what
// failed.
func (l *Loader) loadFrom(ctx context.Context, root *os.Root, pre Preopen, rel string, gen uint64) (*sandbox.Module, wasip1.Errno, error) {
	f, err := root.Open(rel)
	if err != nil {
		return nil, errnoFromOS(err), err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, wasip1.ErrnoIo, err
	}
	if fi.IsDir() {
		return nil, wasip1.ErrnoAcces, errors.New("is a directory")
	}
	if fi.Size() > maxModuleBytes {
		return nil, wasip1.ErrnoNomem, fmt.Errorf("larger than %d MiB, the most isle loads", maxModuleBytes>>20)
	}
	key := cacheKey(pre, rel)
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	l.mu.Lock()
	if c, ok := l.cache[key]; ok && c.size == fi.Size() && c.mtime == fi.ModTime().UnixNano() && c.ino == ino {
		l.mu.Unlock()
		return c.mod, 0, nil
	}
	l.mu.Unlock()
	wasm := make([]byte, fi.Size())
	if _, err := ioReadFull(f, wasm); err != nil {
		return nil, wasip1.ErrnoIo, err
	}
	l.mu.Lock()
	l.compiles++
	l.mu.Unlock()
	// The compile runs at the lowest host priority: a SIP's core outranks
	// it on a busy host, so one slow compile (minutes of wazero's time for
	// a module built to be slow) takes spare CPU rather than its
	// neighbours' (compileNiced).
	mod, err := compileNiced(func() (*sandbox.Module, error) { return l.api.rt.Load(ctx, wasm) })
	if err != nil {
		if ctx.Err() != nil {
			return nil, wasip1.ErrnoIntr, ctx.Err()
		}
		return nil, wasip1.ErrnoNoexec, err
	}
	l.mu.Lock()
	if !l.fast.opened || l.fast.fd < 0 || l.fast.gen == gen {
		l.cache[key] = cached{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: ino, mod: mod}
	}
	l.mu.Unlock()
	return mod, 0, nil
}

func (l *Loader) root(host string) (*os.Root, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.roots == nil {
		return nil, os.ErrClosed
	}
	if r, ok := l.roots[host]; ok {
		return r, nil
	}
	r, err := os.OpenRoot(host)
	if err != nil {
		return nil, err
	}
	l.roots[host] = r
	return r, nil
}

func errnoFromOS(err error) wasip1.Errno {
	if e, _ := wasip1.FromError(err); e == wasip1.ErrnoNfile {
		return e // the host's limit: the machine's, not the SIP's
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return wasip1.ErrnoNoent
	case errors.Is(err, fs.ErrPermission):
		return wasip1.ErrnoAcces
	}
	return wasip1.ErrnoNoent // an escape attempt through a symlink reads as not there
}

func ioReadFull(f *os.File, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := f.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// compileNiced runs compile on a host thread of its own at nice 19, the
// lowest priority, and returns what it returned. The thread is locked to
// the calling goroutine and never unlocked, so Go discards it when the
// goroutine ends (raising a thread's priority back needs a privilege that
// isle may not have). A host that refuses the change compiles at the
// normal priority.
func compileNiced(compile func() (*sandbox.Module, error)) (*sandbox.Module, error) {
	type result struct {
		mod *sandbox.Module
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the niced thread ends with this goroutine
		unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), compileNice)
		mod, err := compile()
		done <- result{mod, err}
	}()
	r := <-done
	return r.mod, r.err
}

// OpNames names the loader's operations, for a trace (kernel.OpNamer).
func (l *Loader) OpNames() []string { return []string{opLoad: "load"} }
