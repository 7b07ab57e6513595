package sandbox

import (
	"cmp"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"slices"
	"sort"
	"unsafe"

	"golang.org/x/sys/unix"

	"isle/internal/leb128"
)

// Copy-on-write memory images.
//
// wazero makes a module's initial memory by copying every active data
// segment into a fresh memory at each instantiation: a Go program's
// megabytes of static data are copied, and become private pages of that
// SIP, at every spawn. Instead, Load builds the initial memory once (the
// segments applied in order, as instantiation would) into a sealed memfd,
// and hands wazero the module with each active segment emptied (offset 0,
// no bytes, which is also what a dropped segment is). A process's memory
// region then maps the image MAP_PRIVATE over its first bytes: every SIP of
// a program shares the image's pages until it writes one, and a write
// copies that page alone (the kernel's copy-on-write), so one SIP's writes
// never show in another's. This is wasmtime's memory-image design.
//
// A module keeps its segments (no image) when emptying them could change
// what the program sees: an offset that is not a constant (a global.get),
// a segment past the initial memory (instantiation must fail with a link
// error), or a module with no memory of its own. Passive segments are never
// touched; segment indices are kept, so data.drop and memory.init mean what
// they meant, except that memory.init of an active segment now traps for a
// non-zero length, as the specification says (active segments are dropped
// at instantiation; wazero did not drop them).
//
// Reuse: a region freed with an image mapped keeps it (memory.go's pool);
// the pages the process made private are found in /proc/self/pagemap (a
// present page that is no longer the file's) and copied back from the
// image, so the next process of the same program finds them committed and
// right, with no faults and no instantiation copy. Without pagemap the
// whole image part is dropped with madvise(MADV_DONTNEED), which makes a
// private file mapping read the file again.

// Limits in one place.
const (
	// minImageBytes: smaller data is copied by wazero as before, where an
	// image would cost more (a fault per page touched) than it saves.
	minImageBytes = 16 << 10
	// maxImageBytes: a larger span (to the last data byte) gets no image;
	// restoring a reused memory reads 8 bytes of pagemap a page of it.
	maxImageBytes = 256 << 20
	pagemapEntry  = 8 // bytes per page in /proc/self/pagemap
)

// The bits of a pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
const (
	pmPresent = 1 << 63
	pmSwapped = 1 << 62
	pmFile    = 1 << 61 // a file page or shared anonymous: not a private copy
)

// memImage is a module's initial memory in a sealed memfd. Immutable; its
// fd and view are released by a cleanup once neither its module nor a
// pooled region refers to it.
type memImage struct {
	fd   int
	size uint64 // bytes: the initial memory up to its last data byte, in whole host pages
	src  []byte // the memfd mapped shared and read-only: the pristine image
}

// dataSegment is one segment of a module's data section, as parsed.
type dataSegment struct {
	active bool
	offset uint32 // active segments' constant offset
	init   []byte
	raw    []byte // the segment's encoding, kept for passive ones
}

// imageFor builds the initial memory of a module whose memory has minBytes
// at instantiation: it returns the module with its active data segments
// emptied and the image, or the module as it was and nil when it has no
// image (see above).
func imageFor(wasm []byte, minBytes uint64) ([]byte, *memImage) {
	start, end, segs, counted, ok := dataSection(wasm)
	if !ok || minBytes == 0 {
		return wasm, nil
	}
	// Without a data count section no instruction can name a segment
	// (validation requires one for memory.init and data.drop), so with no
	// passive segment either, the emptied segments can go altogether:
	// instantiating a Go program went through its 30,000 segments.
	keepIndices := counted
	var last uint64
	data := 0
	for _, s := range segs {
		if !s.active {
			keepIndices = true
			continue
		}
		e := uint64(s.offset) + uint64(len(s.init))
		if e > minBytes {
			return wasm, nil // instantiation must fail: keep wazero's link error
		}
		if len(s.init) > 0 {
			last = max(last, e)
			data += len(s.init)
		}
	}
	ps := uint64(os.Getpagesize())
	size := (last + ps - 1) / ps * ps
	if data < minImageBytes || size > maxImageBytes {
		return wasm, nil
	}
	var sec []byte
	if keepIndices {
		sec = binary.AppendUvarint(nil, uint64(len(segs)))
	} else {
		sec = []byte{0}
	}
	for _, s := range segs {
		switch {
		case !s.active:
			sec = append(sec, s.raw...)
			continue
		case keepIndices:
			sec = append(sec, 0, 0x41, 0, 0x0B, 0) // active, i32.const 0, no bytes
		}
	}
	img, err := newImage(size, imageRuns(segs, ps))
	if err != nil {
		return wasm, nil // no memfd here: instantiation copies, as before
	}
	out := append([]byte(nil), wasm[:start]...)
	out = append(out, 11)
	out = binary.AppendUvarint(out, uint64(len(sec)))
	out = append(out, sec...)
	return append(out, wasm[end:]...), img
}

// dataSection finds the data section (start and end of the whole section,
// id byte included) and parses its segments, and says whether the module
// has a data count section; false if there is no data section or a segment
// is not one an image can stand for.
func dataSection(wasm []byte) (start, end int, segs []dataSegment, counted, ok bool) {
	r := &reader{b: wasm, off: 8}
	for r.off < len(wasm) {
		at := r.off
		id, err := r.byte()
		if err != nil {
			return
		}
		size, err := r.u32()
		if err != nil || uint64(r.off)+uint64(size) > uint64(len(wasm)) {
			return
		}
		body := wasm[r.off : r.off+int(size)]
		r.off += int(size)
		switch id {
		case 12:
			counted = true
		case 11:
			segs, ok = parseSegments(body)
			return at, r.off, segs, counted, ok
		}
	}
	return
}

var errNoImage = errors.New("segment an image cannot stand for")

func parseSegments(body []byte) ([]dataSegment, bool) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil || uint64(n) > uint64(len(body)) {
		return nil, false
	}
	segs := make([]dataSegment, 0, n)
	for i := uint32(0); i < n; i++ {
		s, err := parseSegment(r)
		if err != nil {
			return nil, false
		}
		segs = append(segs, s)
	}
	return segs, r.off == len(body)
}

func parseSegment(r *reader) (dataSegment, error) {
	from := r.off
	flags, err := r.u32()
	if err != nil {
		return dataSegment{}, err
	}
	s := dataSegment{active: flags != 1}
	switch flags {
	case 0, 1:
	case 2:
		if idx, err := r.u32(); err != nil || idx != 0 {
			return dataSegment{}, errNoImage
		}
	default:
		return dataSegment{}, errNoImage
	}
	if s.active {
		if s.offset, err = constOffset(r); err != nil {
			return dataSegment{}, err
		}
	}
	n, err := r.u32()
	if err != nil || uint64(r.off)+uint64(n) > uint64(len(r.b)) {
		return dataSegment{}, errTruncated
	}
	s.init = r.b[r.off : r.off+int(n)]
	r.off += int(n)
	s.raw = r.b[from:r.off]
	return s, nil
}

// constOffset reads an offset expression that is one i32.const (an
// unsigned offset, as instantiation reads it) and end.
func constOffset(r *reader) (uint32, error) {
	if op, err := r.byte(); err != nil || op != 0x41 {
		return 0, errNoImage
	}
	v, n, err := leb128.Signed(r.b[r.off:], 32)
	r.off += n
	if err != nil {
		return 0, errNoImage
	}
	if end, err := r.byte(); err != nil || end != 0x0B || v < -1<<31 || v >= 1<<31 {
		return 0, errNoImage
	}
	return uint32(int32(v)), nil
}

// run is a stretch of the initial memory that holds data: its offset and
// its bytes, every segment that falls in it applied in order.
type run struct {
	off uint64
	b   []byte
}

// imageRuns applies the active segments, in order, to the stretches of
// memory they cover (those less than a page apart joined), so that the
// image is written where it has data and nowhere else: a module may
// place a little data far up its memory, and the memfd stays sparse.
func imageRuns(segs []dataSegment, ps uint64) []run {
	type span struct{ start, end uint64 }
	var spans []span
	for _, s := range segs {
		if s.active && len(s.init) > 0 {
			spans = append(spans, span{uint64(s.offset), uint64(s.offset) + uint64(len(s.init))})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var runs []run
	var ends []uint64
	for _, sp := range spans {
		if n := len(runs); n > 0 && sp.start <= ends[n-1]+ps {
			ends[n-1] = max(ends[n-1], sp.end)
			continue
		}
		runs = append(runs, run{off: sp.start})
		ends = append(ends, sp.end)
	}
	for i := range runs {
		runs[i].b = make([]byte, ends[i]-runs[i].off)
	}
	for _, s := range segs {
		if !s.active || len(s.init) == 0 {
			continue
		}
		off := uint64(s.offset)
		i := sort.Search(len(runs), func(i int) bool { return runs[i].off > off }) - 1
		copy(runs[i].b[off-runs[i].off:], s.init)
	}
	return runs
}

// newImage makes a sealed memfd of size bytes holding runs, zero elsewhere.
func newImage(size uint64, runs []run) (*memImage, error) {
	fd, err := unix.MemfdCreate("isle-image", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*memImage, error) {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fail(err)
	}
	for _, r := range runs {
		for done := 0; done < len(r.b); {
			n, err := unix.Pwrite(fd, r.b[done:], int64(r.off)+int64(done))
			if err != nil {
				return fail(err)
			}
			done += n
		}
	}
	seals := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		return fail(err)
	}
	src, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fail(err)
	}
	img := &memImage{fd: fd, size: size, src: src}
	runtime.AddCleanup(img, func(h imageHandle) {
		unix.Munmap(h.src)
		unix.Close(h.fd)
	}, imageHandle{fd: fd, src: src})
	return img, nil
}

// imageHandle is what an image's cleanup releases.
type imageHandle struct {
	fd  int
	src []byte
}

// mapInto maps the image, private and writable, over the first img.size
// bytes of mem.
func (img *memImage) mapInto(mem []byte) error {
	_, _, e := unix.Syscall6(unix.SYS_MMAP, uintptr(unsafe.Pointer(&mem[0])), uintptr(img.size),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED, uintptr(img.fd), 0)
	if e != 0 {
		return e
	}
	return nil
}

// unmapFrom replaces the image over the first img.size bytes of mem with
// zeroed anonymous memory, readable and writable.
func (img *memImage) unmapFrom(mem []byte) error {
	_, _, e := unix.Syscall6(unix.SYS_MMAP, uintptr(unsafe.Pointer(&mem[0])), uintptr(img.size),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_FIXED, ^uintptr(0), 0)
	if e != 0 {
		return e
	}
	return nil
}

// restore makes the image part of mem (its first img.size bytes) hold the
// image again: the pages made private are copied back from it (pagemap
// says which), or, without pagemap, the whole part is dropped and reads the
// file again.
func (img *memImage) restore(mem []byte, pagemap *os.File) {
	b := mem[:img.size]
	ps := uint64(os.Getpagesize())
	pages := img.size / ps
	if pagemap != nil {
		vec := make([]byte, pages*pagemapEntry)
		off := int64(uintptr(unsafe.Pointer(&b[0])) / uintptr(ps) * pagemapEntry)
		if n, err := pagemap.ReadAt(vec, off); err == nil && n == len(vec) {
			for i := uint64(0); i < pages; i++ {
				e := binary.LittleEndian.Uint64(vec[i*pagemapEntry:])
				if e&(pmPresent|pmSwapped) != 0 && e&pmFile == 0 {
					copy(b[i*ps:(i+1)*ps], img.src[i*ps:(i+1)*ps])
				}
			}
			return
		}
	}
	if unix.Madvise(b, unix.MADV_DONTNEED) != nil {
		copy(b, img.src)
	}
}
