package sandbox

import (
	"bytes"
	"context"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"isle/internal/wasmbin"
)

// The image test's module: one page of memory, three data segments (an
// active one of 20,000 bytes at 1024, an active one of 10 bytes over its
// start, written after it, and a passive one), and a _start that copies the
// passive segment to 40,000 with memory.init, peeks, fills [1024, 21024)
// with the value the host gives it, peeks, and peeks again.
const (
	imgBase  = 1024
	imgLen   = 20_000
	imgOver  = imgBase + 100
	imgInit  = 40_000
	imgPeeks = 3
)

var imgPassive = []byte("PASV")

func imgPattern() []byte {
	b := make([]byte, imgLen)
	for i := range b {
		b[i] = byte(i%251 + 1)
	}
	return b
}

// imgModule assembles the module; offset is the first segment's offset
// expression (an i32.const, or something else).
func imgModule(offset []byte) []byte {
	m := []byte(wasmbin.Header)
	// types: 0 () -> (), 1 () -> i32
	m = wasmbin.Section(m, 1, []byte{2, 0x60, 0, 0, 0x60, 0, 1, wasmbin.I32})
	imp := wasmbin.Name(wasmbin.Name([]byte{2}, "env"), "peek")
	imp = append(imp, 0, 0)
	imp = append(wasmbin.Name(wasmbin.Name(imp, "env"), "val"), 0, 1)
	m = wasmbin.Section(m, 2, imp)
	m = wasmbin.Section(m, 3, []byte{1, 0})
	m = wasmbin.Section(m, 5, []byte{1, 0, 1})
	m = wasmbin.Section(m, 7, append(wasmbin.Name([]byte{1}, "_start"), 0, 2))
	m = wasmbin.Section(m, 12, []byte{3}) // data count
	body := []byte{0}
	body = append(body, 0x41)
	body = wasmbin.SLEB(body, imgInit)
	body = append(body, 0x41, 0, 0x41, byte(len(imgPassive)), 0xFC, 8, 2, 0) // memory.init seg 2
	body = append(body, 0x10, 0)                                             // peek
	body = append(body, 0x41)
	body = wasmbin.SLEB(body, imgBase)
	body = append(body, 0x10, 1, 0x41) // val
	body = wasmbin.SLEB(body, imgLen)
	body = append(body, 0xFC, 11, 0) // memory.fill
	body = append(body, 0x10, 0, 0x10, 0, 0x0B)
	m = wasmbin.Section(m, 10, append(wasmbin.ULEB([]byte{1}, uint64(len(body))), body...))
	data := []byte{3, 0}
	data = append(data, offset...)
	data = append(wasmbin.ULEB(data, imgLen), imgPattern()...)
	data = append(data, 0, 0x41)
	data = wasmbin.SLEB(data, imgOver)
	data = append(wasmbin.ULEB(append(data, 0x0B), 10), bytes.Repeat([]byte{0xEE}, 10)...)
	data = append(wasmbin.ULEB(append(data, 1), uint64(len(imgPassive))), imgPassive...)
	return wasmbin.Section(m, 11, data)
}

// imgPristine is the memory the module's _start must see at its first peek.
func imgPristine() []byte {
	b := make([]byte, pageBytes)
	copy(b[imgBase:], imgPattern())
	copy(b[imgOver:], bytes.Repeat([]byte{0xEE}, 10))
	copy(b[imgInit:], imgPassive)
	return b
}

// imgRun is one process of the image module and what it saw.
type imgRun struct {
	p     *Process
	val   byte
	peeks [][]byte
}

func imgRuntime(t *testing.T) *Runtime {
	t.Helper()
	hm := HostModule{Name: "env", Funcs: []HostFunc{
		{Name: "peek", Fn: func(c *Call, _ []uint64) {
			r := c.Owner().(*imgRun)
			b, _ := c.Memory().Read(0, pageBytes)
			r.peeks = append(r.peeks, bytes.Clone(b))
			c.Suspend(1)
		}},
		{Name: "val", Results: []ValType{I32}, Fn: func(c *Call, s []uint64) { s[0] = uint64(c.Owner().(*imgRun).val) }},
	}}
	rt, err := NewRuntime(context.Background(), Config{}, []HostModule{hm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func (r *imgRun) step(t *testing.T) {
	t.Helper()
	if _, done := r.p.Resume(); done {
		t.Fatalf("process %#x ended early: %+v", r.val, r.p.Result())
	}
}

func (r *imgRun) finish(t *testing.T) {
	t.Helper()
	if _, done := r.p.Resume(); !done || r.p.Result() != (Result{}) {
		t.Fatalf("process %#x: done %v, %+v", r.val, done, r.p.Result())
	}
}

// TestImageIsolatesInstances runs two processes of a module whose data went
// into a copy-on-write image, interleaved: each sees the initial data
// (segments in order, the passive one still there), its own writes, and
// never the other's; a third process, on a reused memory, sees the initial
// data again.
func TestImageIsolatesInstances(t *testing.T) {
	t.Run("pagemap", func(t *testing.T) { testImageIsolates(t, imgRuntime(t)) })
	t.Run("no pagemap", func(t *testing.T) {
		rt := imgRuntime(t)
		if rt.mems.pagemap != nil {
			rt.mems.pagemap.Close()
			rt.mems.pagemap = nil // restore drops the image part instead
		}
		testImageIsolates(t, rt)
	})
}

func testImageIsolates(t *testing.T, rt *Runtime) {
	mod, err := rt.Load(context.Background(), imgModule(i32Const(imgBase)))
	if err != nil {
		t.Fatal(err)
	}
	if mod.img == nil {
		t.Fatal("the module's data did not go into an image")
	}
	pristine := imgPristine()
	filled := func(v byte) []byte {
		b := bytes.Clone(pristine)
		copy(b[imgBase:imgBase+imgLen], bytes.Repeat([]byte{v}, imgLen))
		return b
	}
	a, b := &imgRun{val: 0xA1}, &imgRun{val: 0xB2}
	a.p, b.p = mod.NewProcess(a), mod.NewProcess(b)
	a.step(t) // A: peek 1
	a.step(t) // A: fill, peek 2
	b.step(t) // B: peek 1, after A's writes
	b.step(t) // B: fill, peek 2
	a.step(t) // A: peek 3, after B's writes
	a.finish(t)
	b.step(t)
	b.finish(t)
	check := func(who string, got []byte, want []byte) {
		t.Helper()
		if i := firstDiff(got, want); i >= 0 {
			t.Errorf("%s: byte %d is %#x, want %#x", who, i, got[i], want[i])
		}
	}
	check("A before writing", a.peeks[0], pristine)
	check("A after writing", a.peeks[1], filled(0xA1))
	check("B after A wrote", b.peeks[0], pristine)
	check("B after writing", b.peeks[1], filled(0xB2))
	check("A after B wrote", a.peeks[2], filled(0xA1))

	c := &imgRun{val: 0xC3}
	c.p = mod.NewProcess(c)
	c.step(t)
	if c.p.mem.region.img != mod.img {
		t.Error("the third process's memory does not map the image")
	}
	check("C on a reused memory", c.peeks[0], pristine)
	c.step(t)
	c.step(t)
	c.finish(t)
}

// TestImageKeepsLinkErrorsAndNonConstantOffsets: a segment past the
// initial memory still fails instantiation (and gets no image), and a
// segment whose offset is not a constant keeps the data in the module.
func TestImageKeepsLinkErrorsAndNonConstantOffsets(t *testing.T) {
	rt := imgRuntime(t)
	past := imgModule(i32Const(pageBytes - imgLen + 1)) // ends one byte past the page
	mod, err := rt.Load(context.Background(), past)
	if err != nil {
		t.Fatal(err)
	}
	if mod.img != nil {
		t.Error("a module whose segment is out of bounds got an image")
	}
	p := mod.NewProcess(&imgRun{})
	if _, done := p.Resume(); !done || p.Result().Link == "" {
		t.Errorf("out-of-bounds segment: done %v, %+v; want a link error", done, p.Result())
	}
	// An i32.const followed by i32.const and i32.add (extended constants)
	// is not one constant.
	if _, img := imageFor(imgModule([]byte{0x41, 0x80, 0x04, 0x41, 0x80, 0x04, 0x6A, 0x0B}), pageBytes); img != nil {
		t.Error("an extended-constant offset got an image")
	}
	if w, img := imageFor(past, pageBytes); img != nil || !bytes.Equal(w, past) {
		t.Error("imageFor changed a module whose segment is out of bounds")
	}
}

func i32Const(v int64) []byte { return append(wasmbin.SLEB([]byte{0x41}, v), 0x0B) }

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// TestCoroutinesAreReused: a process that ended by itself leaves its
// coroutine to the next process, which runs right; a killed process's
// coroutine ends with it and is not handed on.
func TestCoroutinesAreReused(t *testing.T) {
	rt := imgRuntime(t)
	mod, err := rt.Load(context.Background(), imgModule(i32Const(imgBase)))
	if err != nil {
		t.Fatal(err)
	}
	runs := func(v byte) *imgRun {
		r := &imgRun{val: v}
		r.p = mod.NewProcess(r)
		r.step(t)
		return r
	}
	a := runs(1)
	first := a.p.co
	a.step(t)
	a.step(t)
	a.finish(t)
	b := runs(2)
	if b.p.co != first {
		t.Error("the next process did not get the ended process's coroutine")
	}
	if i := firstDiff(b.peeks[0], imgPristine()); i >= 0 {
		t.Errorf("the process on a reused coroutine sees byte %d as %#x", i, b.peeks[0][i])
	}
	b.p.Kill()
	if !b.p.Done() || !b.p.Result().Killed {
		t.Fatalf("killed: done %v, %+v", b.p.Done(), b.p.Result())
	}
	c := runs(3)
	if c.p.co == first {
		t.Error("a killed process's coroutine was handed on")
	}
	c.step(t)
	c.step(t)
	c.finish(t)
}

// TestImageIsSparse: data far apart is written where it is, in segment
// order, and the memfd holds pages only there (a module that puts a little
// data high in a large memory does not make the host hold that memory).
func TestImageIsSparse(t *testing.T) {
	far := uint32(200 << 20)
	segs := []dataSegment{
		{active: true, offset: 1024, init: bytes.Repeat([]byte{1}, 20_000)},
		{active: true, offset: far, init: bytes.Repeat([]byte{2}, 16<<10)},
		{active: true, offset: 1030, init: []byte{3, 3}},
		{active: false, init: []byte{4}},
	}
	ps := uint64(os.Getpagesize())
	size := (uint64(far) + 16<<10 + ps - 1) / ps * ps
	img, err := newImage(size, imageRuns(segs, ps))
	if err != nil {
		t.Skip("no memfd:", err)
	}
	if img.src[1023] != 0 || img.src[1024] != 1 || img.src[1030] != 3 || img.src[1032] != 1 || img.src[far] != 2 || img.src[far-1] != 0 {
		t.Error("the image does not hold the segments in order")
	}
	var st unix.Stat_t
	if err := unix.Fstat(img.fd, &st); err != nil {
		t.Fatal(err)
	}
	if held := st.Blocks * 512; held > 1<<20 {
		t.Errorf("the memfd of a %d MiB image holds %d KiB for 36 KiB of data", size>>20, held>>10)
	}
}
