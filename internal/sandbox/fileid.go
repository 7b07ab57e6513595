package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// The identity key of the rewritten-module cache.
//
// The rewritten module is named by the original's SHA-256 (rewritten.go),
// so finding it means reading and hashing the original: 2.6 MB for a Go
// hello. A load from a file finds it by the file's identity instead, what
// fstat says of the opened descriptor: device, inode, size, modification
// and change times (FileID). Beside the rewritten modules, a record named
// by the identity, instrument.Version and the rewriter's options' digest
// holds the original's SHA-256 (idMagic, the sum, a check); a load whose
// identity has a record compiles the rewritten module it names without
// reading the original.
//
// Any write to a file, and any change of its times (os.Chtimes restoring
// the mtime after an edit in place included), sets its ctime to the
// present, which no one can set back, so a record of an identity whose
// ctime was already in the past when the file was read cannot be mistaken
// for a later content of the file. The ctime must be in the past by a
// margin (idSettle), not merely older than now: a timestamp has a
// granularity (the kernel's coarse clock: a jiffy; seconds on some file
// systems), and a write within the same tick as the ctime would leave it
// as it was. So a file is recorded only when its ctime is idSettle older
// than the moment before its fstat, and when fstat after the read gives
// the same identity (no write during the read). A freshly written file is
// read and hashed until it has settled.
//
// Any doubt falls back to reading and hashing: no record, a record of
// another length or whose check fails (truncated, corrupted), a rewritten
// module the record names that is missing or that wazero refuses. As with
// the rest of the cache, failures to write it are ignored, and whoever may
// write the directory may change what runs. What this cannot see is a
// change that does not move the ctime: a file system that does not keep
// one, or a writer that sets the clock back.
const idMagic = "isleID\x00\x01" // an identity record's first bytes; then the original's SHA-256, then idCheck's 8 bytes

// idSettle is how long before its fstat a file's ctime must be for the file
// to be recorded by its identity (Runtime.idSettle, which tests shorten).
const idSettle = 2 * time.Second

// FileID is the identity of an opened module file, as fstat gives it.
type FileID struct {
	ok           bool      // a regular file whose fstat gave the fields below
	before       time.Time // a moment before the fstat
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // ns since the epoch
}

// StatFile fstats an opened module file and returns what it says and the
// file's identity.
func StatFile(f *os.File) (os.FileInfo, FileID, error) {
	now := time.Now()
	fi, err := f.Stat()
	if err != nil {
		return nil, FileID{}, err
	}
	return fi, fileID(fi, now), nil
}

// fileID is the identity of the file fi describes, fstat'ed after before.
func fileID(fi os.FileInfo, before time.Time) FileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return FileID{}
	}
	return FileID{ok: true, before: before, dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
}

// settled reports whether id's ctime was settle older than its fstat.
func (id FileID) settled(settle time.Duration) bool {
	return id.ok && id.ctime < id.before.Add(-settle).UnixNano()
}

// same reports whether two identities are of one file unchanged.
func (id FileID) same(o FileID) bool {
	return id.ok && o.ok && id.dev == o.dev && id.ino == o.ino && id.size == o.size && id.mtime == o.mtime && id.ctime == o.ctime
}

// idKey is what names the record of id: the identity, the rewriter's
// version and its options' digest.
func (r *Runtime) idKey(id FileID) []byte {
	b := make([]byte, 0, 64)
	for _, v := range []uint64{id.dev, id.ino, uint64(id.size), uint64(id.mtime), uint64(id.ctime), uint64(r.rewriterVersion)} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return append(b, r.optsDigest...)
}

// idPath is the record file of key.
func (r *Runtime) idPath(key []byte) string {
	h := sha256.Sum256(key)
	return filepath.Join(r.cfg.CacheDir, rewrittenDir, hex.EncodeToString(h[:16])+".id")
}

// idCheck is a record's last 8 bytes: a digest of its key and its sum, so
// that a damaged record, or one renamed, is not believed.
func idCheck(key []byte, sum [sha256.Size]byte) []byte {
	c := sha256.Sum256(append(key[:len(key):len(key)], sum[:]...))
	return c[:8]
}

// readID returns the original's SHA-256 that the record of key holds.
func readID(path string, key []byte) (sum [sha256.Size]byte, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) != len(idMagic)+sha256.Size+8 || string(b[:len(idMagic)]) != idMagic {
		return sum, false
	}
	copy(sum[:], b[len(idMagic):])
	return sum, string(b[len(idMagic)+sha256.Size:]) == string(idCheck(key, sum))
}

// writeID records that the file of key holds the original whose SHA-256 is
// sum.
func writeID(path string, key []byte, sum [sha256.Size]byte) {
	b := append(append([]byte(idMagic), sum[:]...), idCheck(key, sum)...)
	writeWhole(path, b)
}

// LoadFile is Load of the module in the opened file f, whose identity
// StatFile gave: where the cache holds the module rewritten under that
// identity, f is not read; otherwise read reads it whole, as Load's
// caller would.
func (r *Runtime) LoadFile(ctx context.Context, f *os.File, id FileID, read func() ([]byte, error)) (*Module, error) {
	if r.cfg.Preempt == nil || r.cfg.CacheDir == "" || !id.ok {
		wasm, err := read()
		if err != nil {
			return nil, err
		}
		return r.Load(ctx, wasm)
	}
	key := r.idKey(id)
	path := r.idPath(key)
	if sum, ok := readID(path, key); ok {
		if rw, ok := cachedRewrite(r.cachePath(sum)); ok {
			if cm, img, err := r.compileImaged(ctx, rw.wasm); err == nil {
				rw.sum = sum
				return r.finish(ctx, cm, rw, img)
			}
			rw.forget() // a damaged cache file: rewrite the original again
		}
	}
	wasm, err := read()
	if err != nil {
		return nil, err
	}
	mod, rw, err := r.load(ctx, wasm)
	if err != nil || !id.settled(r.idSettle) {
		return mod, err
	}
	if fi, err := f.Stat(); err == nil && fileID(fi, time.Now()).same(id) {
		writeID(path, key, rw.sum)
	}
	return mod, nil
}
