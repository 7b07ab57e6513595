package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
)

// Comparing two builds (scripts/benchcmp.sh): each suite runs with the old
// and the new harness alternately, A B A B, and its JSON rows are kept as
// DIR/SUITE.old.N.json and DIR/SUITE.new.N.json. A row's figure on each
// side is the median of its rounds. Its noise is the larger of the two
// sides' spreads, a spread being (max - min) / median of a side's rounds.
// A speed row got worse (or better) beyond noise when every new round is
// worse (better) than every old one, and the medians differ by more than
// twice the noise and by more than minChange: with two rounds a side, the
// ranges alone would part by chance for one row in three.
const (
	minChange   = 0.03 // a smaller change of the medians is noise, whatever the rounds say
	noiseFactor = 2    // how many spreads the medians must part by
	minRounds   = 2    // rounds of each side, at least
)

// Direction is whether a row is better higher or lower; rows say it in
// their unit.
type Direction int

const (
	NoDirection  Direction = iota // not a speed: a count, a size, a ratio without a target, a paper's figure
	LowerBetter                   // a time: ns, us, µs, ms, s, cycles; or a ratio "x (target <= N)"
	HigherBetter                  // a rate: msgs/s, MB/s, req/s…; or a ratio "x (target >= N)"
)

func (d Direction) String() string {
	switch d {
	case LowerBetter:
		return "lower is better"
	case HigherBetter:
		return "higher is better"
	}
	return "no direction"
}

var targetRe = regexp.MustCompile(`target\s*(>=|<=)`)

// DirectionOf reads a row's direction from its unit.
func DirectionOf(unit string) Direction {
	u := strings.TrimSpace(unit)
	if strings.Contains(u, "(paper)") {
		return NoDirection // a figure quoted, not measured
	}
	first, _, _ := strings.Cut(u, " ")
	switch {
	case first == "x" || first == "×":
		if m := targetRe.FindStringSubmatch(u); m != nil {
			if m[1] == ">=" {
				return HigherBetter
			}
			return LowerBetter
		}
		return NoDirection
	case strings.HasSuffix(first, "/s"):
		return HigherBetter
	}
	switch first {
	case "ns", "us", "µs", "ms", "s", "cycles":
		return LowerBetter
	}
	return NoDirection
}

// Verdicts of a comparison.
const (
	Worse   = "WORSE"
	Better  = "better"
	Same    = "~"    // within the noise
	OnlyOld = "gone" // the row is only in the old build's output
	OnlyNew = "new"  // the row is only in the new build's output
	NoSpeed = ""     // the row has no direction
)

// Comparison is one row of a suite, old beside new.
type Comparison struct {
	Name, Unit string
	Dir        Direction
	Old, New   []float64 // the row's value in each round
	OldMid     float64   // the median of Old
	NewMid     float64   // the median of New
	Verdict    string
}

// Ratio is new / old (NaN when a side lacks the row).
func (c Comparison) Ratio() float64 {
	if len(c.Old) == 0 || len(c.New) == 0 {
		return math.NaN()
	}
	return c.NewMid / c.OldMid
}

// Noise is the larger of the two sides' spreads: (max - min) / median of
// a side's rounds.
func (c Comparison) Noise() float64 {
	spread := func(xs []float64, mid float64) float64 {
		if len(xs) == 0 || mid == 0 {
			return 0
		}
		return math.Abs((slices.Max(xs) - slices.Min(xs)) / mid)
	}
	return max(spread(c.Old, c.OldMid), spread(c.New, c.NewMid))
}

// Compare sets each row of the old rounds beside the same row of the new
// ones, in the order of the new build's first round (then the rows only
// the old build has).
func Compare(old, new [][]Row) []Comparison {
	byName := map[string]*Comparison{}
	var order []string
	add := func(rounds [][]Row, side func(*Comparison) *[]float64) {
		for _, rows := range rounds {
			for _, r := range rows {
				c := byName[r.Name]
				if c == nil {
					c = &Comparison{Name: r.Name, Unit: r.Unit}
					byName[r.Name] = c
					order = append(order, r.Name)
				}
				if c.Unit == "" {
					c.Unit = r.Unit
				}
				*side(c) = append(*side(c), r.Value)
			}
		}
	}
	add(new, func(c *Comparison) *[]float64 { return &c.New })
	add(old, func(c *Comparison) *[]float64 { return &c.Old })
	out := make([]Comparison, 0, len(order))
	for _, name := range order {
		c := byName[name]
		c.Dir = DirectionOf(c.Unit)
		c.OldMid, c.NewMid = middle(c.Old), middle(c.New)
		c.Verdict = verdict(c)
		out = append(out, *c)
	}
	return out
}

// middle is the median of xs (the mean of the two middle values of an even
// count); NaN for none.
func middle(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func verdict(c *Comparison) string {
	switch {
	case len(c.New) == 0:
		return OnlyOld
	case len(c.Old) == 0:
		return OnlyNew
	case c.Dir == NoDirection:
		return NoSpeed
	case c.OldMid == 0 || math.Abs(c.NewMid/c.OldMid-1) <= max(minChange, noiseFactor*c.Noise()):
		return Same
	}
	// better reports whether a beats b; bestOf and worstOf are a side's
	// extreme rounds, in c's direction.
	better := func(a, b float64) bool { return a < b }
	bestOf, worstOf := slices.Min[[]float64], slices.Max[[]float64]
	if c.Dir == HigherBetter {
		better = func(a, b float64) bool { return a > b }
		bestOf, worstOf = worstOf, bestOf
	}
	switch {
	case better(worstOf(c.Old), bestOf(c.New)): // every new round is worse than every old one
		return Worse
	case better(worstOf(c.New), bestOf(c.Old)):
		return Better
	}
	return Same
}

// WriteComparison prints a suite's comparison as a table.
func WriteComparison(w io.Writer, suite string, cs []Comparison) {
	fmt.Fprintf(w, "%s:\n", suite)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  name\told\tnew\tnew/old\tnoise\tunit\tverdict")
	for _, c := range cs {
		ratio := "-"
		if r := c.Ratio(); !math.IsNaN(r) && !math.IsInf(r, 0) {
			ratio = fmt.Sprintf("%.3f", r)
		}
		noise := "-"
		if len(c.Old) > 0 && len(c.New) > 0 {
			noise = fmt.Sprintf("%.1f%%", 100*c.Noise())
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, side(c.OldMid, c.Old), side(c.NewMid, c.New), ratio, noise, c.Unit, c.Verdict)
	}
	tw.Flush()
}

func side(mid float64, xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	return formatValue(mid)
}

// ParseRows reads a suite's --json output.
func ParseRows(b []byte) ([]Row, error) {
	var rows []Row
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, err
	}
	for i, r := range rows {
		if r.Name == "" {
			return nil, fmt.Errorf("row %d has no name", i)
		}
	}
	return rows, nil
}

// roundFile is DIR/SUITE.SIDE.N.json.
var roundFile = regexp.MustCompile(`^([a-z0-9_-]+)\.(old|new)\.([0-9]+)\.json$`)

// readRounds reads every DIR/SUITE.{old,new}.N.json: by suite, the old
// rounds and the new ones, each in the order of N.
func readRounds(dir string) (map[string][2][][]Row, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type file struct {
		name string
		n    int
	}
	files := map[string][2][]file{}
	for _, e := range ents {
		m := roundFile.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		var n int
		fmt.Sscan(m[3], &n)
		fs := files[m[1]]
		i := 0
		if m[2] == "new" {
			i = 1
		}
		fs[i] = append(fs[i], file{e.Name(), n})
		files[m[1]] = fs
	}
	out := map[string][2][][]Row{}
	for suite, sides := range files {
		var rounds [2][][]Row
		for i, fs := range sides {
			sort.Slice(fs, func(a, b int) bool { return fs[a].n < fs[b].n })
			for _, f := range fs {
				b, err := os.ReadFile(filepath.Join(dir, f.name))
				if err != nil {
					return nil, err
				}
				rows, err := ParseRows(b)
				if err != nil {
					return nil, fmt.Errorf("%s: %v", f.name, err)
				}
				rounds[i] = append(rounds[i], rows)
			}
		}
		out[suite] = rounds
	}
	return out, nil
}

const compareUsage = "usage: benchcmp DIR (DIR holds SUITE.old.N.json and SUITE.new.N.json, as scripts/benchcmp.sh writes them)"

// CompareMain runs `benchcmp DIR`: for each suite with rounds in DIR, a
// table of every row, old, new, new/old and its verdict. It returns 0 when
// no speed row got worse beyond the noise, 1 when one did, 2 on a usage
// error or unreadable rounds.
func CompareMain(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, compareUsage)
		return 2
	}
	rounds, err := readRounds(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "benchcmp: %v\n", err)
		return 2
	}
	if len(rounds) == 0 {
		fmt.Fprintf(stderr, "benchcmp: no rounds in %s (%s)\n", args[0], compareUsage)
		return 2
	}
	suites := make([]string, 0, len(rounds))
	for s := range rounds {
		suites = append(suites, s)
	}
	sort.Strings(suites)
	var worse []string
	for _, s := range suites {
		r := rounds[s]
		if len(r[0]) < minRounds || len(r[1]) < minRounds {
			fmt.Fprintf(stderr, "benchcmp: %s has %d old and %d new rounds; want at least %d of each\n", s, len(r[0]), len(r[1]), minRounds)
			return 2
		}
		cs := Compare(r[0], r[1])
		WriteComparison(stdout, fmt.Sprintf("%s (%d rounds each)", s, len(r[0])), cs)
		for _, c := range cs {
			if c.Verdict == Worse {
				worse = append(worse, s+"/"+c.Name)
			}
		}
	}
	if len(worse) > 0 {
		fmt.Fprintf(stdout, "worse beyond noise: %s\n", strings.Join(worse, ", "))
		return 1
	}
	fmt.Fprintln(stdout, "no speed row worse beyond noise")
	return 0
}
