package isle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"isle/internal/sandbox"
)

// Program is a validated, compiled WebAssembly module, shared by every core.
type Program struct {
	name   string
	mod    *sandbox.Module
	closed atomic.Bool // set once by Close; read by SpawnWith
}

// Close frees the program's compiled code. SIPs already running it run on
// to their end (wazero keeps what an instance uses); a later Spawn of it
// fails. A second Close does nothing. Spawning it while it is being closed
// may start a process that fails to instantiate (its ExitStatus.Link says
// so). The machine's Stop frees every program it loaded.
func (p *Program) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	return p.mod.Close(ctx)
}

// Load reads, validates and compiles a program file of at most
// sandbox.MaxModuleBytes. With a cache directory, a file loaded before and
// unchanged since is not read: the cache finds what it compiled by the
// file's identity (internal/sandbox/fileid.go).
func (m *Machine) Load(ctx context.Context, path string) (*Program, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file", path)
		}
		return nil, fmt.Errorf("%s: %v", path, unwrapPathError(err))
	}
	defer f.Close()
	size := int64(0) // a hint only: a device or a pipe reports 0
	fi, id, err := sandbox.StatFile(f)
	if err == nil && fi.Mode().IsRegular() {
		if fi.Size() > sandbox.MaxModuleBytes {
			// Early, for a plain file; readModule checks every kind.
			return nil, fmt.Errorf("%s: larger than %d MiB, the most isle loads", path, sandbox.MaxModuleBytes>>20)
		}
		size = fi.Size()
	}
	var readErr error
	mod, err := m.rt.LoadFile(ctx, f, id, func() ([]byte, error) {
		m.moduleReads.Add(1)
		wasm, err := readModule(f, sandbox.MaxModuleBytes, size)
		readErr = err
		return wasm, err
	})
	if readErr != nil {
		return nil, fmt.Errorf("%s: %v", path, unwrapPathError(readErr))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &Program{name: path, mod: mod}, nil
}

// readModule reads a module of at most limit bytes from r. It trusts no
// size the file reports (size, a device's or a pipe's 0, only sizes the
// buffer) and reads at most limit+1 bytes; a stream that does not start
// with the WebAssembly magic number is refused after its first 4 bytes, so
// `isle run /dev/zero` ends at once.
func readModule(r io.Reader, limit, size int64) ([]byte, error) {
	var head [4]byte
	n, err := io.ReadFull(r, head[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if string(head[:n]) != "\x00asm" {
		return head[:n], nil // Load explains what is wrong with it
	}
	// Room for bytes.MinRead past the size: ReadFrom grows the buffer (a
	// copy to one twice as large, 5 MiB of page faults for a Go program)
	// whenever less is free before its last read, the one that sees EOF.
	buf := bytes.NewBuffer(append(make([]byte, 0, min(max(size+bytes.MinRead, 64<<10), limit+1+bytes.MinRead)), head[:]...))
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1-int64(n))); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("larger than %d MiB, the most isle loads", limit>>20)
	}
	return buf.Bytes(), nil
}

// LoadBytes validates and compiles a program held in memory.
func (m *Machine) LoadBytes(ctx context.Context, name string, wasm []byte) (*Program, error) {
	mod, err := m.rt.Load(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return &Program{name: name, mod: mod}, nil
}
