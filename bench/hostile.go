package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"isle"
	"isle/internal/hostile"
)

// Hostile runs every attack of testdata/hostile/ beside the honest SIP
// (internal/hostile), and reports the honest SIP's rate of rounds beside
// each attack as a share of its rate alone, measured in the same run before
// and after the attacks (the target: at least 0.5). Attacks that end in
// less than hostileMinRun leave too few rounds to weigh; their share is
// reported all the same, with the rounds, so a reader can tell.
func Hostile(log io.Writer) ([]Row, error) {
	root, err := sourceRoot()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "isle-bench-hostile-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	attacks, err := hostile.Attacks(filepath.Join(root, "testdata", "hostile"))
	if err != nil {
		return nil, err
	}
	s := &hostile.Setup{Root: root, Work: work, Config: isle.NewConfig().WithCacheDir(filepath.Join(work, "cache"))}
	if err := s.Prepare(); err != nil {
		return nil, err
	}
	ctx := context.Background()
	alone := func() (float64, error) {
		r, err := s.Alone(ctx, time.Second)
		return r.Rate(), err
	}
	before, err := alone()
	if err != nil {
		return nil, err
	}
	var rows []Row
	var runs []hostile.Result
	for i := range attacks {
		a := &attacks[i]
		wasm, err := s.Build(a)
		if err != nil {
			return nil, err
		}
		r, err := s.Run(ctx, a, wasm)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", a.Name, err)
		}
		if bad := a.Check(r); bad != nil {
			return nil, fmt.Errorf("%s: %s", a.Name, strings.Join(bad, "; "))
		}
		fmt.Fprintf(log, "%s: %v, the honest SIP did %d rounds\n", a.Name, r.Elapsed.Round(time.Millisecond), r.During)
		runs = append(runs, r)
	}
	after, err := alone()
	if err != nil {
		return nil, err
	}
	base := (before + after) / 2
	rows = append(rows, Row{Name: "honest_alone_rounds_per_s", Value: base, Unit: fmt.Sprintf("rounds/s (before %.0f, after %.0f)", before, after)})
	for i, r := range runs {
		name := strings.ReplaceAll(attacks[i].Name, "-", "_")
		unit := "x alone (target >= 0.5)"
		if r.Elapsed < hostileMinRun {
			unit = fmt.Sprintf("x alone (%d rounds in %v: too short to weigh)", r.During, r.Elapsed.Round(time.Millisecond))
		}
		rows = append(rows,
			Row{Name: "hostile_" + name + "_ms", Value: float64(r.Elapsed) / 1e6, Unit: "ms"},
			Row{Name: "hostile_" + name + "_honest_share", Value: r.Rate() / base, Unit: unit})
	}
	return rows, nil
}

// hostileMinRun is the shortest attack whose share is weighed.
const hostileMinRun = 200 * time.Millisecond
