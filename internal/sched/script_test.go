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
	q := NewRunQueue(Config{})
	ents := map[string]*Entity{}
	names := map[*Entity]string{}
	// Groups: the script plays the kernel's part, keeping each group's
	// load and giving every queued member its share after each change.
	type group struct {
		weight, load int64
		members      []*Entity
	}
	groups := map[string]*group{}
	groupOf := map[*Entity]*group{}
	reshare := func(g *group) {
		for _, m := range g.members {
			if m.Queued() {
				q.Reweigh(m, GroupShare(g.weight, NiceToWeight(m.Nice), g.load))
			}
		}
	}
	var out strings.Builder
	for lineNo, line := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
		if strings.HasPrefix(line, "> ") || line == ">" {
			continue
		}
		out.WriteString(line + "\n")
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		say := func(format string, args ...any) { fmt.Fprintf(&out, "> "+format+"\n", args...) }
		fail := func(msg string) { t.Fatalf("line %d: %s: %s", lineNo+1, line, msg) }
		get := func(name string) *Entity {
			e, ok := ents[name]
			if !ok {
				fail("no entity " + name)
			}
			return e
		}
		switch f[0] {
		case "group":
			g := &group{weight: NiceZeroWeight}
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				n, err := strconv.Atoi(v)
				if k != "nice" || err != nil {
					fail("bad " + kv)
				}
				g.weight = NiceToWeight(n)
			}
			groups[f[1]] = g
		case "enqueue":
			e, ok := ents[f[1]]
			if !ok {
				e = &Entity{ID: uint64(len(ents) + 1)}
				ents[f[1]], names[e] = e, f[1]
			}
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "nice":
					n, err := strconv.Atoi(v)
					if err != nil {
						fail(err.Error())
					}
					e.Nice = n
				case "slice":
					e.Slice = parseDur(t, v)
				case "group":
					g, ok := groups[v]
					if !ok {
						fail("no group " + v)
					}
					if groupOf[e] == nil {
						g.members = append(g.members, e)
						groupOf[e] = g
					}
				default:
					fail("unknown key " + k)
				}
			}
			if g := groupOf[e]; g != nil {
				g.load += NiceToWeight(e.Nice)
				e.Share = GroupShare(g.weight, NiceToWeight(e.Nice), g.load)
				q.Enqueue(e)
				reshare(g)
			} else {
				q.Enqueue(e)
			}
		case "dequeue":
			e := get(f[1])
			q.Dequeue(e)
			say("lag %s", vdur(e.vlag))
			if g := groupOf[e]; g != nil {
				g.load -= NiceToWeight(e.Nice)
				reshare(g)
			}
		case "pick":
			if e := q.Pick(); e != nil {
				say("%s", names[e])
			} else {
				say("nil")
			}
		case "charge":
			q.Charge(get(f[1]), parseDur(t, f[2]))
		case "run":
			left := parseDur(t, f[1])
			var runs []string
			for left > 0 {
				e := q.Pick()
				if e == nil {
					break
				}
				d := min(q.SliceLeft(e), left)
				q.Charge(e, d)
				left -= d
				runs = append(runs, fmt.Sprintf("%s %s", names[e], vdur(int64(d))))
			}
			for i := 0; i < len(runs); i += 8 {
				say("%s", strings.Join(runs[i:min(i+8, len(runs))], ", "))
			}
		case "show":
			say("V %s, load %d", vdur(q.V()), q.Load())
			var es []*Entity
			q.each(func(e *Entity) { es = append(es, e) })
			sort.Slice(es, func(i, j int) bool { return names[es[i]] < names[es[j]] })
			for _, e := range es {
				el := "eligible"
				if !q.Eligible(e) {
					el = "not eligible"
				}
				say("%s w=%d lag=%s deadline=V%+s ran=%s %s", names[e], e.Weight(), vdur(q.Lag(e)),
					vdur(e.Deadline()-q.V()), vdur(int64(e.Runtime())), el)
			}
		default:
			fail("unknown command")
		}
	}
	return out.String()
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
