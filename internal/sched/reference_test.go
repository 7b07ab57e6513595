package sched

import "math/big"

// refQueue is a deliberately simple O(n) implementation of the same rules as
// RunQueue: a slice scanned on every call, absolute vruntimes and exact
// big-integer averages. The differential test runs both side by side.
type refQueue struct {
	slice Duration
	ents  []*refEntity
	lastV int64
	seq   uint64
}

type refEntity struct {
	id                  uint64
	nice                int
	w, v, d, vrem, vlag int64
	slice               Duration
	placed, queued      bool
	leftQ               *refQueue
	leftV               int64
	seq                 uint64
	runtime             Duration
}

func (q *refQueue) V() int64 {
	if len(q.ents) == 0 {
		return q.lastV
	}
	num, den := q.sums()
	// floor division
	v := new(big.Int)
	m := new(big.Int)
	v.DivMod(num, den, m) // Euclidean; den > 0 so this is floor
	return v.Int64()
}

func (q *refQueue) sums() (num, den *big.Int) {
	num, den = new(big.Int), new(big.Int)
	for _, e := range q.ents {
		num.Add(num, new(big.Int).Mul(big.NewInt(e.v), big.NewInt(e.w)))
		den.Add(den, big.NewInt(e.w))
	}
	return num, den
}

func (q *refQueue) eligible(e *refEntity) bool {
	num, den := q.sums()
	return new(big.Int).Mul(big.NewInt(e.v), den).Cmp(num) <= 0
}

func (q *refQueue) load() int64 {
	var l int64
	for _, e := range q.ents {
		l += e.w
	}
	return l
}

func (q *refQueue) enqueue(e *refEntity) {
	e.w = NiceToWeight(e.nice)
	if e.slice <= 0 {
		e.slice = q.slice
	}
	v := q.V()
	var lag int64
	if e.placed {
		if e.vlag < 0 && e.leftQ == q {
			e.vlag = min(0, e.vlag+v-e.leftV)
		}
		e.leftQ = nil
		lag = e.vlag
		if l := q.load(); l > 0 {
			lag = lag * (l + e.w) / l
		}
	}
	e.v = v - lag
	vs := int64(e.slice) * 1024 / e.w
	if !e.placed {
		vs /= 2
		e.placed = true
	}
	e.d = e.v + vs
	q.seq++
	e.seq = q.seq
	e.queued = true
	q.ents = append(q.ents, e)
}

func (q *refQueue) dequeue(e *refEntity) {
	v := q.V()
	limit := int64(2*e.slice) * 1024 / e.w
	e.vlag = min(max(v-e.v, -limit), limit)
	for i, x := range q.ents {
		if x == e {
			q.ents = append(q.ents[:i], q.ents[i+1:]...)
			break
		}
	}
	e.queued = false
	if len(q.ents) == 0 {
		q.lastV = v
	}
	if e.vlag < 0 {
		e.leftQ, e.leftV = q, q.V()
	}
}

func (q *refQueue) charge(e *refEntity, ran Duration) {
	if ran == 0 {
		return
	}
	e.runtime += ran
	num := int64(ran)*1024 + e.vrem
	e.v += num / e.w
	e.vrem = num % e.w
	if e.v >= e.d {
		e.d = e.v + int64(e.slice)*1024/e.w
	}
}

func (q *refQueue) pick() *refEntity {
	var best *refEntity
	for _, e := range q.ents {
		if !q.eligible(e) {
			continue
		}
		if best == nil || e.d < best.d ||
			e.d == best.d && (e.v < best.v || e.v == best.v && e.seq < best.seq) {
			best = e
		}
	}
	return best
}

func (q *refQueue) renice(e *refEntity, nice int) {
	e.nice = nice
	if !e.queued {
		return
	}
	old, w := e.w, NiceToWeight(nice)
	if w == old {
		return
	}
	v := q.V()
	lag := (v - e.v) * old / w
	rel := (e.d - e.v) * old / w
	e.w, e.vrem = w, 0
	e.v = v - lag
	e.d = e.v + rel
}
