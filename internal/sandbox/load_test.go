package sandbox_test

import (
	"context"
	"strings"
	"testing"

	"isle/internal/sandbox"
	"isle/internal/testprog"
)

func newRuntime(t testing.TB) *sandbox.Runtime {
	hm := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{{Name: "yield", Fn: func(c *sandbox.Call, _ []uint64) { c.Suspend(7) }}}}
	rt, err := sandbox.NewRuntime(context.Background(), sandbox.Config{}, []sandbox.HostModule{hm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func TestLoadRejects(t *testing.T) {
	rt := newRuntime(t)
	cases := []struct {
		name string
		wasm []byte
		want string
	}{
		{"empty", nil, "not a WebAssembly module"},
		{"text", []byte("hello world"), "not a WebAssembly module"},
		{"truncated", []byte("\x00asm\x01\x00"), "invalid module"},
		{"bad section", []byte("\x00asm\x01\x00\x00\x00\x03\x02\x01\x07"), "invalid module"},
		{"unknown import", testprog.Module([][2]string{{"env", "nope"}, {"x", "y"}}, nil), "imports env.nope, x.y, which isle does not provide"},
	}
	for _, c := range cases {
		_, err := rt.Load(context.Background(), c.wasm)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", c.name, err, c.want)
		}
	}
}

// TestSuspendResumeAcrossGoroutines suspends a process inside a host
// function and resumes it alternately from two goroutines: migration.
func TestSuspendResumeAcrossGoroutines(t *testing.T) {
	rt := newRuntime(t)
	// _start calls env.yield 1000 times: loop { call 0; ... }
	body := []byte{0x03, 0x40, 0x10, 0x00, 0x0C, 0x00, 0x0B} // loop (call $yield) br 0 end
	mod, err := rt.Load(context.Background(), testprog.Module([][2]string{{"env", "yield"}}, body))
	if err != nil {
		t.Fatal(err)
	}
	p := mod.NewProcess(nil)
	turn := make(chan bool)
	back := make(chan struct{})
	for g := 0; g < 2; g++ {
		go func() {
			for range turn {
				if r, done := p.Resume(); done || r != 7 {
					t.Errorf("resume: reason %d done %v", r, done)
				}
				back <- struct{}{}
			}
		}()
	}
	for i := 0; i < 1000; i++ {
		turn <- true
		<-back
	}
	close(turn)
	p.Kill()
	if r := p.Result(); !r.Killed || r.Status() != 137 {
		t.Errorf("after Kill: %+v", r)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(testprog.Module(nil, testprog.Unreachable()))
	f.Add(testprog.Module([][2]string{{"env", "yield"}}, testprog.InfiniteLoop()))
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	rt := newRuntime(f)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		m, err := rt.Load(context.Background(), wasm)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		m.Close(context.Background())
	})
}
