package sched

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden outputs in testdata/*.txt")

// TestScripts replays testdata/*.txt: each line is a command to a run queue,
// followed by its expected output as lines starting with "> ". Run with
// -update to rewrite the outputs after a deliberate change of policy.
//
//	group NAME [nice=N]                 a group of that nice's weight (group.go)
//	enqueue NAME [nice=N] [slice=DUR] [group=G]
//	                                    make NAME runnable (a member of G)
//	dequeue NAME                        prints the lag it saved
//	pick                                prints the entity Pick returns
//	charge NAME DUR                     charge NAME DUR of CPU time
//	run DUR                             pick/charge for DUR (SliceLeft at a time); prints the runs
//	show                                prints V and each entity: weight, lag, deadline−V, eligibility
func TestScripts(t *testing.T) {
	replayScripts(t, false, runScript)
}

// replayScripts replays the scripts of testdata/: the balancer's
// (balance-*.txt) or the run queue's (the others).
func replayScripts(t *testing.T, balance bool, run func(*testing.T, string) string) {
	files, _ := filepath.Glob("testdata/*.txt")
	n := 0
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "balance-") != balance {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, string(data))
			if *updateGolden {
				if err := os.WriteFile(f, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(data) {
				t.Errorf("%s: output differs (run with -update to accept):\n%s", f, got)
			}
		})
	}
	if n == 0 {
		t.Fatal("no scripts")
	}
}

func runScript(t *testing.T, script string) string {
	s := &rqScript{t: t, q: NewRunQueue(Config{}), ents: map[string]*Entity{}, names: map[*Entity]string{},
		groups: map[string]*rqGroup{}, groupOf: map[*Entity]*rqGroup{}}
	cmds := map[string]func([]string){
		"group": s.group, "enqueue": s.enqueue, "dequeue": s.dequeue, "pick": s.pick,
		"charge": s.charge, "run": s.run, "show": s.show,
	}
	for lineNo, line := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
		if strings.HasPrefix(line, "> ") || line == ">" {
			continue
		}
		s.out.WriteString(line + "\n")
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		s.lineNo, s.line = lineNo, line
		do, ok := cmds[f[0]]
		if !ok {
			s.fail("unknown command")
		}
		do(f)
	}
	return s.out.String()
}

// rqScript is a run-queue script being replayed: the queue, its entities
// by name, and the groups, whose part the script plays as the kernel does:
// keeping each group's load and giving every queued member its share after
// each change.
type rqScript struct {
	t       *testing.T
	q       *RunQueue
	ents    map[string]*Entity
	names   map[*Entity]string
	groups  map[string]*rqGroup
	groupOf map[*Entity]*rqGroup
	out     strings.Builder
	lineNo  int
	line    string
}

type rqGroup struct {
	weight, load int64
	members      []*Entity
}

func (s *rqScript) say(format string, args ...any) { fmt.Fprintf(&s.out, "> "+format+"\n", args...) }

func (s *rqScript) fail(msg string) { s.t.Fatalf("line %d: %s: %s", s.lineNo+1, s.line, msg) }

func (s *rqScript) get(name string) *Entity {
	e, ok := s.ents[name]
	if !ok {
		s.fail("no entity " + name)
	}
	return e
}

func (s *rqScript) reshare(g *rqGroup) {
	for _, m := range g.members {
		if m.Queued() {
			s.q.Reweigh(m, GroupShare(g.weight, NiceToWeight(m.Nice), g.load))
		}
	}
}

// group NAME [nice=N]
func (s *rqScript) group(f []string) {
	g := &rqGroup{weight: NiceZeroWeight}
	for _, kv := range f[2:] {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if k != "nice" || err != nil {
			s.fail("bad " + kv)
		}
		g.weight = NiceToWeight(n)
	}
	s.groups[f[1]] = g
}

// enqueue NAME [nice=N] [slice=D] [group=G]
func (s *rqScript) enqueue(f []string) {
	e, ok := s.ents[f[1]]
	if !ok {
		e = &Entity{ID: uint64(len(s.ents) + 1)}
		s.ents[f[1]], s.names[e] = e, f[1]
	}
	for _, kv := range f[2:] {
		s.setKey(e, kv)
	}
	if g := s.groupOf[e]; g != nil {
		g.load += NiceToWeight(e.Nice)
		e.Share = GroupShare(g.weight, NiceToWeight(e.Nice), g.load)
		s.q.Enqueue(e)
		s.reshare(g)
	} else {
		s.q.Enqueue(e)
	}
}

// setKey applies one KEY=VALUE of an enqueue to e.
func (s *rqScript) setKey(e *Entity, kv string) {
	k, v, _ := strings.Cut(kv, "=")
	switch k {
	case "nice":
		n, err := strconv.Atoi(v)
		if err != nil {
			s.fail(err.Error())
		}
		e.Nice = n
	case "slice":
		e.Slice = parseDur(s.t, v)
	case "group":
		g, ok := s.groups[v]
		if !ok {
			s.fail("no group " + v)
		}
		if s.groupOf[e] == nil {
			g.members = append(g.members, e)
			s.groupOf[e] = g
		}
	default:
		s.fail("unknown key " + k)
	}
}

// dequeue NAME: says its lag.
func (s *rqScript) dequeue(f []string) {
	e := s.get(f[1])
	s.q.Dequeue(e)
	s.say("lag %s", vdur(e.vlag))
	if g := s.groupOf[e]; g != nil {
		g.load -= NiceToWeight(e.Nice)
		s.reshare(g)
	}
}

// pick: says whom the queue picks.
func (s *rqScript) pick([]string) {
	if e := s.q.Pick(); e != nil {
		s.say("%s", s.names[e])
	} else {
		s.say("nil")
	}
}

// charge NAME D
func (s *rqScript) charge(f []string) { s.q.Charge(s.get(f[1]), parseDur(s.t, f[2])) }

// run D: picks and charges each its slice (or what is left of D), and says
// who ran how long.
func (s *rqScript) run(f []string) {
	left := parseDur(s.t, f[1])
	var runs []string
	for left > 0 {
		e := s.q.Pick()
		if e == nil {
			break
		}
		d := min(s.q.SliceLeft(e), left)
		s.q.Charge(e, d)
		left -= d
		runs = append(runs, fmt.Sprintf("%s %s", s.names[e], vdur(int64(d))))
	}
	for i := 0; i < len(runs); i += 8 {
		s.say("%s", strings.Join(runs[i:min(i+8, len(runs))], ", "))
	}
}

// show: the queue's virtual time and load, and each entity's state.
func (s *rqScript) show([]string) {
	q := s.q
	s.say("V %s, load %d", vdur(q.V()), q.Load())
	var es []*Entity
	q.each(func(e *Entity) { es = append(es, e) })
	sort.Slice(es, func(i, j int) bool { return s.names[es[i]] < s.names[es[j]] })
	for _, e := range es {
		el := "eligible"
		if !q.Eligible(e) {
			el = "not eligible"
		}
		s.say("%s w=%d lag=%s deadline=V%+s ran=%s %s", s.names[e], e.Weight(), vdur(q.Lag(e)),
			vdur(e.Deadline()-q.V()), vdur(int64(e.Runtime())), el)
	}
}

func parseDur(t *testing.T, s string) Duration {
	for _, u := range []struct {
		suffix string
		d      Duration
	}{{"ms", Millisecond}, {"us", Microsecond}, {"ns", Nanosecond}, {"s", Second}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return Duration(f * float64(u.d))
		}
	}
	t.Fatalf("bad duration %q", s)
	return 0
}

// vdur prints virtual or real nanoseconds as milliseconds.
func vdur(ns int64) string { return strconv.FormatFloat(float64(ns)/1e6, 'f', -1, 64) + "ms" }
