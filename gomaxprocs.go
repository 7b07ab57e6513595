package isle

import (
	"runtime"
	"sync"
)

// procClaims keeps GOMAXPROCS what the running machines of this process
// need. A machine of n cores wants n+1 processors, so that services, timers
// and the garbage collector always find one while every core runs a SIP
// (docs/design.md, "The machine"). While any machine runs, GOMAXPROCS is the
// largest of their claims and of the value before the first; when the last
// stops it goes back to that value, or to the value the embedder set while
// they ran. Before, each Stop restored what its own
// Boot had found, so stopping one of two machines took the other's
// processors away, and a Boot that failed left GOMAXPROCS raised.
//
// Ownership: one per process (gomaxprocs), behind mu; Boot and Stop of any
// machine, from the embedder's goroutines.
type procClaims struct {
	mu      sync.Mutex
	set     func(int) int // runtime.GOMAXPROCS (a fake in tests)
	claims  map[*Machine]int
	before  int // GOMAXPROCS before the first claim, or as the embedder set it since
	applied int // the value apply left
}

var gomaxprocs = procClaims{set: runtime.GOMAXPROCS}

// claim records m's need of n processors and raises GOMAXPROCS to it.
func (p *procClaims) claim(m *Machine, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.claims) == 0 {
		p.claims = map[*Machine]int{}
		p.before = p.set(0)
		p.applied = p.before
	}
	p.claims[m] = n
	p.apply()
}

// release drops m's claim; the last one restores the value before the first.
func (p *procClaims) release(m *Machine) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.claims[m]; !ok {
		return
	}
	delete(p.claims, m)
	p.apply()
}

// apply sets GOMAXPROCS to the largest claim, or the value from before if
// larger. A value the embedder set since apply last ran (runtime.GOMAXPROCS
// called while machines run) becomes the value from before: it stands once
// the machines that need more have stopped, instead of being reset.
func (p *procClaims) apply() {
	cur := p.set(0)
	if cur != p.applied {
		p.before = cur
	}
	want := p.before
	for _, n := range p.claims {
		want = max(want, n)
	}
	if cur != want {
		p.set(want)
	}
	p.applied = want
}
