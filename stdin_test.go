package isle_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// runFedLater runs prog (args[0] its name) on a machine configured by cfg
// whose stdin is a pipe that stays empty until the output holds mark; then
// the test writes line to it and closes it. It returns the output once the
// program has ended.
func runFedLater(t *testing.T, cfg isle.Config, path string, args []string, mark, line string) string {
	t.Helper()
	ctx := context.Background()
	out := newWatch()
	stdin, feed := io.Pipe()
	defer feed.Close()
	m, err := isle.Boot(ctx, cfg.WithStdio(stdin, out, out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, args)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	out.waitFor(t, mark, deadline)
	io.WriteString(feed, line)
	feed.Close()
	if st := waitDone(t, p, deadline, args[0]); st.Status() != 0 {
		t.Fatalf("status %d; output:\n%s", st.Status(), out.String())
	}
	return out.String()
}

// A Go program whose goroutine is blocked reading stdin goes on running:
// a select with a timeout times out, and a ticker ticks, while no input
// comes (poll_oneoff reports stdin's real readiness; a non-blocking read
// of stdin says EAGAIN).
func TestGoStdinWaitLeavesTheProgramRunning(t *testing.T) {
	prog := testprog.Go(t, "./testdata/stdinwait")
	for _, cores := range []int{1, 2} {
		cfg := config().WithCores(cores).WithOversubscribe(true)
		t.Run(fmt.Sprintf("select/%d", cores), func(t *testing.T) {
			out := runFedLater(t, cfg, prog, []string{"stdinwait", "select"}, "timeout\n", "hello\n")
			if out != "timeout\nline: hello\neof\n" {
				t.Errorf("output %q", out)
			}
		})
		t.Run(fmt.Sprintf("ticks/%d", cores), func(t *testing.T) {
			out := runFedLater(t, cfg, prog, []string{"stdinwait", "ticks"}, "tick 3\n", "hello\n")
			if !strings.HasPrefix(out, "tick 1\ntick 2\ntick 3\n") || !strings.HasSuffix(out, "\nline: hello\neof\n") {
				t.Errorf("output %q", out)
			}
		})
		t.Run(fmt.Sprintf("wait/%d", cores), func(t *testing.T) {
			out := runFedLater(t, cfg, prog, []string{"stdinwait", "wait"}, "waiting\n", "hello\n")
			if out != "waiting\nline: hello\neof\n" {
				t.Errorf("output %q", out)
			}
		})
		t.Run(fmt.Sprintf("net/%d", cores), func(t *testing.T) {
			out := runFedLater(t, cfg.WithListen("127.0.0.1:0"), prog, []string{"stdinwait", "net"}, "waiting\n", "hello\n")
			if out != "waiting\nline: hello\neof\n" {
				t.Errorf("output %q", out)
			}
		})
	}
}

// A SIP waiting in poll_oneoff for stdin with no deadline is killed at
// once: the console service answers its readiness request.
func TestKillWhileWaitingForStdin(t *testing.T) {
	prog := testprog.Go(t, "./testdata/stdinwait")
	ctx := context.Background()
	out := newWatch()
	stdin, feed := io.Pipe()
	defer feed.Close()
	m, err := isle.Boot(ctx, config().WithCores(1).WithStdio(stdin, out, out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	loaded, err := m.Load(ctx, prog)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(loaded, []string{"stdinwait", "wait"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	out.waitFor(t, "waiting\n", deadline)
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if st := waitDone(t, p, deadline, "stdinwait"); !st.Killed || st.Status() != 137 {
		t.Fatalf("status %d (killed %v); output:\n%s", st.Status(), st.Killed, out.String())
	}
}

// poll(2) on stdin in C: it times out while no input has come, then says
// POLLIN when a line comes, and again at the end of input; also with a
// listening socket polled beside stdin, and on a non-blocking stdin, whose
// read says EAGAIN while no input has come.
func TestCPollStdin(t *testing.T) {
	prog := testdataC(t, "pollstdin")
	const want = "timeout\npoll: 1 in 1\nread: hello\nend: poll 1 read 0\n"
	for _, cores := range []int{1, 2} {
		cfg := config().WithCores(cores).WithOversubscribe(true)
		if out := runFedLater(t, cfg, prog, []string{"pollstdin"}, "timeout\n", "hello\n"); out != want {
			t.Errorf("%d cores: output %q, want %q", cores, out, want)
		}
		cfg = cfg.WithListen("127.0.0.1:0")
		if out := runFedLater(t, cfg, prog, []string{"pollstdin", "net"}, "timeout\n", "hello\n"); out != want {
			t.Errorf("%d cores, with a socket: output %q, want %q", cores, out, want)
		}
		cfg = config().WithCores(cores).WithOversubscribe(true)
		if out := runFedLater(t, cfg, prog, []string{"pollstdin", "nonblock"}, "timeout\n", "hello\n"); out != "eagain\n"+want {
			t.Errorf("%d cores, non-blocking: output %q, want %q", cores, out, "eagain\n"+want)
		}
	}
}

// Stopping the machine ends a SIP waiting in poll_oneoff for stdin, with
// no deadline, and one polling stdin beside a ticker.
func TestStopWhileWaitingForStdin(t *testing.T) {
	prog := testprog.Go(t, "./testdata/stdinwait")
	ctx := context.Background()
	out := newWatch()
	stdin, feed := io.Pipe()
	defer feed.Close()
	m, err := isle.Boot(ctx, config().WithCores(2).WithStdio(stdin, out, out))
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := m.Load(ctx, prog)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var ps []*isle.Process
	for _, mode := range []string{"wait", "ticks"} {
		p, err := m.Spawn(loaded, []string{"stdinwait", mode})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	out.waitFor(t, "waiting\n", deadline)
	out.waitFor(t, "tick 1\n", deadline)
	stopped := make(chan struct{})
	go func() { m.Stop(ctx); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Until(deadline)):
		t.Fatal("Stop had not returned by the deadline")
	}
	for _, p := range ps {
		if st := waitDone(t, p, deadline, "stdinwait"); !st.Killed {
			t.Errorf("status %d, not killed; output:\n%s", st.Status(), out.String())
		}
	}
}
