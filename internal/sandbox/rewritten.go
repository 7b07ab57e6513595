package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"isle/internal/sandbox/instrument"
)

// The rewritten-module cache.
//
// Rewriting a module for preemption costs more than compiling it from
// wazero's cache (a fifth of a small C program's start-up, a third of a Go
// program's), so where Config.CacheDir is set the rewritten module is kept
// there too, beside wazero's compiled code, under a name made of the
// original's SHA-256, the rewriter's version (instrument.Version) and a
// digest of the rewriter's options. A load that finds it neither prechecks
// nor rewrites the original: the original passed both when the file was
// written, and the name is its hash. wazero still decodes and validates what
// it compiles, as `wazero run` does; it then finds the machine code in its
// own cache.
//
// The cache is trusted as wazero's is (it holds machine code): whoever may
// write the directory may change what runs. A file that wazero refuses
// (truncated, say) is rewritten again from the original. Failures to write
// the cache are ignored: it only saves time.
const (
	rewrittenDir   = "isle-rewritten" // under Config.CacheDir
	rewrittenMagic = "isleRW\x00\x01" // a cache file's first bytes; then the function shift (u32, little-endian), then the module
)

// rewritten is a module rewritten for preemption.
type rewritten struct {
	wasm  []byte
	shift uint32            // functions the rewriting imported (Module.funcShift)
	path  string            // the cache file it was read from or is to be written to; "" without a cache
	hit   bool              // read from the cache
	sum   [sha256.Size]byte // the original's SHA-256, where path is set and the original was read
}

// rewriteOptions are the options Load rewrites modules with.
func (r *Runtime) rewriteOptions() instrument.Options {
	opts := instrument.DefaultOptions()
	opts.HookModule, opts.HookName, opts.FuelExport, opts.InitialFuel = hookModule, hookName, fuelExport, r.cfg.Fuel
	opts.PadGlobals = padGlobals
	return opts
}

// optionsDigest is the part of a cache file's name that the rewriter's
// options make.
func (r *Runtime) optionsDigest() string {
	o := sha256.Sum256(fmt.Appendf(nil, "%+v", r.rewriteOptions()))
	return hex.EncodeToString(o[:6])
}

// cachePath names the cache file of the rewritten module whose original
// has the SHA-256 sum: the sum, the rewriter's version and the options'
// digest.
func (r *Runtime) cachePath(sum [sha256.Size]byte) string {
	if r.cfg.CacheDir == "" {
		return ""
	}
	name := fmt.Sprintf("%s-v%d-%s.wasm", hex.EncodeToString(sum[:]), r.rewriterVersion, r.optsDigest)
	return filepath.Join(r.cfg.CacheDir, rewrittenDir, name)
}

// cachedRewrite returns the rewritten module from the cache, if it is there.
func cachedRewrite(path string) (rewritten, bool) {
	if path == "" {
		return rewritten{}, false
	}
	b, err := os.ReadFile(path)
	if err != nil || len(b) < len(rewrittenMagic)+4 || string(b[:len(rewrittenMagic)]) != rewrittenMagic {
		return rewritten{}, false
	}
	b = b[len(rewrittenMagic):]
	return rewritten{wasm: b[4:], shift: binary.LittleEndian.Uint32(b), path: path, hit: true}, true
}

// rewrite prechecks and rewrites the original module for preemption.
func (r *Runtime) rewrite(wasm []byte, path string) (rewritten, error) {
	if err := precheck(wasm); err != nil {
		return rewritten{}, &LoadError{Reason: "invalid module: " + err.Error()}
	}
	r.rewrites.Add(1)
	before, counted := funcImports(wasm)
	w, err := instrument.Instrument(wasm, r.rewriteOptions())
	if err != nil {
		return rewritten{}, &LoadError{Reason: "invalid module: " + firstLine(err.Error())}
	}
	var shift uint32
	if after, ok := funcImports(w); counted && ok && after > before {
		shift = after - before
	}
	return rewritten{wasm: w, shift: shift, path: path}, nil
}

// store writes a rewritten module that wazero compiled into the cache.
func (rw rewritten) store() {
	if rw.path == "" || rw.hit {
		return
	}
	b := binary.LittleEndian.AppendUint32([]byte(rewrittenMagic), rw.shift)
	writeWhole(rw.path, append(b, rw.wasm...))
}

// writeWhole writes a cache file by renaming a whole file into place, so
// that no reader sees half of one. Failures are ignored.
func writeWhole(path string, b []byte) {
	dir := filepath.Dir(path)
	if os.MkdirAll(dir, 0o755) != nil {
		return
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err != nil || cerr != nil || os.Rename(f.Name(), path) != nil {
		os.Remove(f.Name())
	}
}

// forget removes a cache file that wazero refused.
func (rw rewritten) forget() {
	if rw.hit {
		os.Remove(rw.path)
	}
}
