package main

import (
	"errors"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"isle"
	"isle/internal/testprog"
)

// twoSnaps: core 0 busy half of one second, core 1 idle; three SIPs.
func twoSnaps() (prev, cur isle.Snapshot) {
	prev = isle.Snapshot{
		Cores: []isle.CoreSnapshot{{Core: 0, At: 1e9, Busy: 4e8, MsgsRecv: 10, MsgsSent: 20}, {Core: 1, At: 1e9}},
		SIPs: []isle.SIPSnapshot{
			{PID: 1, Name: "/x/a.wasm", Core: 0, State: "R", CPUTime: 3e8, Msgs: 5},
			{PID: 2, Name: "/x/b.wasm", Core: 0, State: "S", CPUTime: 1e8, Msgs: 50},
		},
	}
	cur = isle.Snapshot{
		Cores: []isle.CoreSnapshot{{Core: 0, At: 2e9, Busy: 9e8, RunQueue: 2, MsgsRecv: 110, MsgsSent: 420, MigratedIn: 1, MigratedOut: 2, Wasted: 3},
			{Core: 1, At: 2e9}},
		SIPs: []isle.SIPSnapshot{
			{PID: 1, Name: "/x/a.wasm", Core: 0, State: "R", CPUTime: 6e8, Msgs: 7},
			{PID: 2, Name: "/x/b.wasm", Core: 0, State: "S", CPUTime: 1.5e8, Msgs: 60},
			{PID: 3, Name: "/x/c.wasm", Core: 1, State: "D", CPUTime: 2.5e8, Msgs: 1},
		},
	}
	return prev, cur
}

func TestTopCoreRates(t *testing.T) {
	prev, cur := twoSnaps()
	rs := coreRows(prev, cur)
	want := coreRow{Core: 0, Busy: 50, RunQueue: 2, InPerS: 100, OutPerS: 400, Migr: 3, Wasted: 3}
	if rs[0] != want || rs[1] != (coreRow{Core: 1}) {
		t.Errorf("rows %+v, want %+v and an idle core 1", rs, want)
	}
	// The first snapshot: rates since boot.
	if first := coreRows(isle.Snapshot{}, prev); first[0].Busy != 40 || first[0].InPerS != 10 {
		t.Errorf("since boot: %+v, want 40%% busy, 10 messages/s in", first[0])
	}
}

func pids(rs []sipRow) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r.PID)
	}
	return out
}

func TestTopSIPRowsSort(t *testing.T) {
	prev, cur := twoSnaps()
	rs := sipRows(prev, cur, colCPU, false)
	// CPU over the second: a 30%, b 5%, c new, 25%.
	if got := pids(rs); !slices.Equal(got, []int64{1, 3, 2}) {
		t.Errorf("by CPU: %v", got)
	}
	for _, r := range rs {
		want := map[int64]float64{1: 30, 2: 5, 3: 25}[r.PID]
		if math.Abs(r.CPU-want) > 1e-9 {
			t.Errorf("pid %d CPU %.2f%%, want %.0f%%", r.PID, r.CPU, want)
		}
	}
	for _, c := range []struct {
		col    topCol
		invert bool
		want   []int64
	}{
		{colCPU, true, []int64{2, 3, 1}},
		{colMsgs, false, []int64{2, 1, 3}},
		{colTime, false, []int64{1, 3, 2}},
		{colPID, false, []int64{1, 2, 3}},
		{colPID, true, []int64{3, 2, 1}},
		{colName, true, []int64{3, 2, 1}},
		{colCore, false, []int64{1, 2, 3}},
		{colState, false, []int64{3, 1, 2}},
	} {
		if got := pids(sipRows(prev, cur, c.col, c.invert)); !slices.Equal(got, c.want) {
			h, _, _ := colInfo(c.col)
			t.Errorf("by %s (invert %v): %v, want %v", h, c.invert, got, c.want)
		}
	}
}

// press sends keys to the model as bubbletea would.
func press(m topModel, keys ...tea.KeyPressMsg) topModel {
	for _, k := range keys {
		next, _ := m.Update(k)
		m = next.(topModel)
	}
	return m
}

func TestTopKeys(t *testing.T) {
	prev, cur := twoSnaps()
	m := newTopModel(nil, time.Second)
	m.prev, m.cur = prev, cur
	if m.sortBy != colCPU {
		t.Fatalf("sorts first by %v, want CPU%%", m.sortBy)
	}
	letter := func(s string) tea.KeyPressMsg { return tea.KeyPressMsg{Text: s, Code: rune(s[0])} }
	if m = press(m, letter("M")); m.sortBy != colMsgs {
		t.Errorf("M: sort by %v", m.sortBy)
	}
	if m = press(m, letter("T"), letter("I")); m.sortBy != colTime || !m.invert {
		t.Errorf("T then I: sort by %v invert %v", m.sortBy, m.invert)
	}
	// F6 opens the chooser on the current column; down twice, enter.
	m = press(m, tea.KeyPressMsg{Code: tea.KeyF6})
	if !m.choosing || m.choice != colTime {
		t.Fatalf("F6: choosing %v at %v", m.choosing, m.choice)
	}
	if !strings.Contains(m.render(), "Sort by") {
		t.Errorf("the chooser is not drawn:\n%s", m.render())
	}
	m = press(m, tea.KeyPressMsg{Code: tea.KeyDown}, tea.KeyPressMsg{Code: tea.KeyEnter})
	if m.choosing || m.sortBy != colPID || m.invert {
		t.Errorf("down past the last column, enter: sort by %v, choosing %v", m.sortBy, m.choosing)
	}
	m = press(m, letter(">"), tea.KeyPressMsg{Code: tea.KeyUp}, tea.KeyPressMsg{Code: tea.KeyEscape})
	if m.choosing || m.sortBy != colPID {
		t.Errorf("> up esc: sort by %v, choosing %v", m.sortBy, m.choosing)
	}
	if _, cmd := m.Update(letter("q")); cmd == nil || cmd() != tea.Quit() {
		t.Errorf("q does not quit")
	}
}

func TestTopSnapshotsAndErrors(t *testing.T) {
	prev, cur := twoSnaps()
	m := newTopModel(nil, time.Second)
	m.cur = prev
	next, cmd := m.Update(snapMsg{s: cur})
	m = next.(topModel)
	if cmd == nil || len(m.prev.SIPs) != 2 || len(m.cur.SIPs) != 3 {
		t.Fatalf("a snapshot did not shift in, or no next fetch")
	}
	out := m.render()
	for _, want := range []string{"2 cores, 3 SIPs", "50.0%", "a.wasm", "30.0", "0:00.60"} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	next, cmd = m.Update(snapMsg{err: errors.New("EOF")})
	if next.(topModel).err == nil || cmd == nil || cmd() != tea.Quit() {
		t.Errorf("a failed fetch does not end top")
	}
}

// TestTopNoMachine: a path where no machine answers is one line, exit 1.
func TestTopNoMachine(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "none"), dir} {
		var out, errb strings.Builder
		st := dispatch([]string{"top", path}, &out, &errb)
		if st != exitError || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), "no machine answers there") {
			t.Errorf("isle top %s: status %d, stderr %q", path, st, errb.String())
		}
	}
}

// TestRunControlInUse: --control on a path where a machine answers is one
// line before boot, exit 1; so is a path that is not a socket, and a busy
// --metrics port.
func TestRunControlInUse(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "ctl")
	ln, err := listenControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	prog := testprog.C(t, "int main(void) { return 0; }")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--control", sock}, "in use"},
		{[]string{"--control", file}, "not a socket"},
		{[]string{"--metrics", busy.Addr().String()}, "address already in use"},
		{[]string{"--metrics", "127.0.0.1:1:2"}, "--metrics"},
		{[]string{"--control", sock, "--metrics", busy.Addr().String()}, "in use"},
	} {
		var out, errb strings.Builder
		st := dispatch(append(append([]string{"run"}, c.args...), prog), &out, &errb)
		if st != exitError || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("isle run %v: status %d, stderr %q", c.args, st, errb.String())
		}
	}
	// A busy port after a free control path: the socket opened for it is
	// closed and removed again.
	free := filepath.Join(dir, "free")
	var out, errb strings.Builder
	if st := dispatch([]string{"run", "--control", free, "--metrics", busy.Addr().String(), prog}, &out, &errb); st != exitError {
		t.Errorf("free --control, busy --metrics: status %d, %q", st, errb.String())
	}
	if _, err := os.Lstat(free); err == nil {
		t.Errorf("the control socket of a machine that never booted is left at %s", free)
	}
	if b, _ := os.ReadFile(file); string(b) != "x" {
		t.Errorf("--control on a file changed it")
	}
	// A stale socket (nobody answers) is replaced.
	ln.Close()
	os.WriteFile(file, nil, 0o644)
	out.Reset()
	errb.Reset()
	if st := dispatch([]string{"run", "--control", sock, prog}, &out, &errb); st != 0 {
		t.Errorf("--control on a stale socket: status %d, %q", st, errb.String())
	}
}

// TestTopInTmux: isle top in a real terminal (tmux), attached to a machine
// running a spinner, draws its cores and the SIP, follows the sort keys, and
// q ends it.
func TestTopInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("no tmux")
	}
	if testing.Short() {
		t.Skip("builds isle and runs a terminal")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "isle")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sock := filepath.Join(dir, "ctl")
	run := exec.Command(bin, "run", "--cache-dir", "", "--cores", "2", "--oversubscribe", "--control", sock, testprog.C(t, spinAfterSaying))
	stdout, err := run.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { run.Process.Kill(); run.Wait() }()
	if !awaitStdout(stdout, "spinning", 30*time.Second) {
		t.Fatal("the spinner did not start")
	}
	sess := "isle-top-" + filepath.Base(dir)
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-L", sess}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", sess, "-x", "120", "-y", "30", bin+" top -d 100ms "+sock+"; echo top-exit=$?; sleep 30")
	defer exec.Command("tmux", "-L", sess, "kill-server").Run()
	// Waits for the screen to show want, reading it again and again.
	screen := func(want string) string {
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := tmux("capture-pane", "-p", "-t", sess)
			if strings.Contains(s, want) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen never showed %q:\n%s", want, s)
			}
		}
	}
	s := screen(" R ")
	for _, want := range []string{"isle top  2 cores, 1 SIPs, sorted by CPU%", "RUNQ", "MSG IN/s", "WASTED", "PID", "TIME+"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	tmux("send-keys", "-t", sess, "T")
	screen("sorted by TIME+")
	tmux("send-keys", "-t", sess, "F6")
	screen("Sort by")
	tmux("send-keys", "-t", sess, "Down", "Enter")
	screen("sorted by PID")
	tmux("send-keys", "-t", sess, "q")
	screen("top-exit=0")
}
