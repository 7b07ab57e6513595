package sched

import "fmt"

// DefaultSlice is the request size of an entity that does not set its own,
// Linux's base slice on a machine of 8 or more CPUs.
const DefaultSlice = 3 * Millisecond

// Entity is a schedulable thing: a SIP's thread of control. The caller owns
// it and sets ID, Nice and Slice; the unexported fields belong to the
// RunQueue it is queued in, or, while it is queued nowhere, to whoever holds
// it (they carry its lag across sleeps and migrations).
type Entity struct {
	// ID is the caller's name for the entity; sched never interprets it.
	ID uint64
	// Nice is read at each Enqueue: changing it directly takes effect at
	// the next one; RunQueue.Renice changes it at once. It is clamped to
	// [MinNice, MaxNice].
	Nice int
	// Slice is the entity's request size, read at each Enqueue; 0 means
	// the queue's Config.Slice.
	Slice Duration
	// Share, if positive, is the weight the entity has in its queue in
	// place of its nice's: its part of a group's weight (GroupShare, group.go).
	// Read at each Enqueue; RunQueue.Reweigh changes it at once.
	Share int64

	weight   int64     // from Nice at Enqueue
	slice    Duration  // effective slice, from Slice at Enqueue
	vruntime int64     // virtual ns; meaningful only while queued
	deadline int64     // virtual deadline; meaningful only while queued
	vrem     int64     // remainder of the last vruntime division (< weight)
	vlag     int64     // lag saved at Dequeue, restored at Enqueue
	leftQ    *RunQueue // the queue a debtor (vlag < 0) left; only compared
	leftV    int64     // that queue's V when it left
	runtime  Duration  // total CPU time charged, over the entity's life
	placed   bool      // has been enqueued before: Enqueue restores vlag

	// tree links, owned by rq
	rq          *RunQueue
	left, right *Entity
	min         *Entity // entity with the earliest deadline in this subtree
	prio        uint64  // treap priority, a hash of seq
	seq         uint64  // enqueue order in rq: the last tie-breaker
}

// Weight returns the weight fixed at the last Enqueue (0 before the first).
func (e *Entity) Weight() int64 { return e.weight }

// Runtime returns the total CPU time charged to the entity over its life.
func (e *Entity) Runtime() Duration { return e.runtime }

// Queued reports whether the entity is in a run queue.
func (e *Entity) Queued() bool { return e.rq != nil }

// Vruntime returns the entity's virtual runtime; meaningful only while it is
// queued, and only relative to its queue's V.
func (e *Entity) Vruntime() int64 { return e.vruntime }

// Deadline returns the entity's virtual deadline; meaningful only while it
// is queued.
func (e *Entity) Deadline() int64 { return e.deadline }

// Config is a run queue's fixed configuration.
type Config struct {
	// Slice is the default request size; 0 means DefaultSlice.
	Slice Duration
}

// RunQueue is one core's EEVDF run queue: the core that owns it is the only
// one to touch it. Its zero value is not usable; call NewRunQueue.
//
// Entities are kept in a treap ordered by (vruntime, seq) and augmented with
// the entity of earliest deadline in each subtree, so that the eligible
// entities form a prefix and Pick is one walk from the root (as Linux's
// augmented rbtree in pick_eevdf).
type RunQueue struct {
	cfg  Config
	root *Entity
	n    int
	load int64 // Σ w over queued entities
	// V = base + floor(sum/load), with sum = Σ (v_i − base)·w_i. base is
	// moved to V after every change, so sum stays in [0, load) and the
	// products cannot overflow (Linux's avg_vruntime / zero_vruntime).
	base int64
	sum  int64
	seq  uint64
}

// NewRunQueue returns an empty run queue.
func NewRunQueue(cfg Config) *RunQueue {
	if cfg.Slice <= 0 {
		cfg.Slice = DefaultSlice
	}
	return &RunQueue{cfg: cfg}
}

// Len returns the number of queued entities, the running one included.
func (q *RunQueue) Len() int { return q.n }

// Load returns the sum of the weights of the queued entities.
func (q *RunQueue) Load() int64 { return q.load }

// V returns the queue's weighted average vruntime (its value when the queue
// last held an entity, if it is empty now).
func (q *RunQueue) V() int64 {
	if q.load == 0 || 0 <= q.sum && q.sum < q.load {
		// ⌊sum/load⌋ = 0: the case after every rebase, with no division
		// (a 64-bit division costs tens of cycles, and a wake-up, a run
		// and a block read V six times).
		return q.base
	}
	return q.base + floorDiv(q.sum, q.load)
}

// Lag returns e's lag: V − vruntime while queued (positive: the entity is
// owed service), or the lag saved when it was dequeued.
func (q *RunQueue) Lag(e *Entity) int64 {
	if e.rq == q {
		return q.V() - e.vruntime
	}
	return e.vlag
}

// Eligible reports whether the queued entity e has lag ≥ 0, that is
// vruntime ≤ V, computed without division as Linux's entity_eligible.
func (q *RunQueue) Eligible(e *Entity) bool {
	return (e.vruntime-q.base)*q.load <= q.sum
}

// Enqueue makes e runnable on q. e must not be queued anywhere.
func (q *RunQueue) Enqueue(e *Entity) {
	if e.rq != nil {
		panic(fmt.Sprintf("sched: Enqueue of entity %d that is already queued", e.ID))
	}
	e.weight = e.queueWeight()
	e.slice = e.Slice
	if e.slice <= 0 {
		e.slice = q.cfg.Slice
	}
	v := q.V()
	var lag int64
	if e.placed {
		if e.vlag < 0 && e.leftQ == q {
			// A debt is paid off while the entity sleeps, as V moves
			// on without it (Linux's delayed dequeue).
			e.vlag = min(0, e.vlag+v-e.leftV)
		}
		e.leftQ = nil
		lag = e.vlag
		if q.load > 0 {
			// Joining moves V towards the newcomer; inflate its lag so
			// that its lag after joining is the one it left with.
			lag = lag * (q.load + e.weight) / q.load
		}
	}
	e.vruntime = v - lag
	vslice := e.vslice()
	if !e.placed {
		vslice /= 2 // a new entity gets to run a little sooner
		e.placed = true
	}
	e.deadline = e.vruntime + vslice
	q.seq++
	e.seq = q.seq
	e.prio = mix64(e.seq)
	e.rq = q
	q.n++
	q.load += e.weight
	q.sum += (e.vruntime - q.base) * e.weight
	q.insert(e)
	q.rebase()
}

// Renice sets e's nice value. If e is queued on q the new weight takes
// effect at once, keeping e's lag and its time to deadline in real terms
// (both scaled by old/new weight, as Linux's reweight_entity), which leaves
// V where it was; otherwise at its next Enqueue. An entity with a Share
// keeps it as its weight: its group's share is the caller's to recompute.
func (q *RunQueue) Renice(e *Entity, nice int) {
	e.Nice = nice
	q.reweight(e)
}

// Reweigh sets e's Share (0: back to its nice's weight), at once if e is
// queued on q, as Renice does.
func (q *RunQueue) Reweigh(e *Entity, share int64) {
	e.Share = share
	q.reweight(e)
}

// reweight gives the queued entity e its queueWeight, keeping its lag and
// its time to deadline in real terms.
func (q *RunQueue) reweight(e *Entity) {
	if e.rq != q {
		return
	}
	old, w := e.weight, e.queueWeight()
	if w == old {
		return
	}
	v := q.V()
	lag := (v - e.vruntime) * old / w
	rel := (e.deadline - e.vruntime) * old / w
	q.remove(e)
	q.sum -= (e.vruntime - q.base) * old
	q.load -= old
	e.weight, e.vrem = w, 0
	e.vruntime = v - lag
	e.deadline = e.vruntime + rel
	q.sum += (e.vruntime - q.base) * w
	q.load += w
	q.insert(e)
	q.rebase()
}

// queueWeight is the weight e has when queued: its Share, or its nice's.
func (e *Entity) queueWeight() int64 {
	if e.Share > 0 {
		return e.Share
	}
	return NiceToWeight(e.Nice)
}

// Dequeue removes e from q (it blocked, exited or migrates), saving its lag
// clamped to ±2 slices of its virtual time. A negative lag (a debt) shrinks
// by however far q's V advances before e is enqueued on q again, down to 0,
// as if e stayed queued until it was eligible (Linux's DELAY_DEQUEUE): a
// sleeper pays its debt by sleeping. On another queue it keeps its debt.
func (q *RunQueue) Dequeue(e *Entity) {
	if e.rq != q {
		panic(fmt.Sprintf("sched: Dequeue of entity %d that is not in this queue", e.ID))
	}
	limit := e.scale(2 * e.slice)
	e.vlag = min(max(q.V()-e.vruntime, -limit), limit)
	q.remove(e)
	q.sum -= (e.vruntime - q.base) * e.weight
	q.load -= e.weight
	q.n--
	e.rq = nil
	if q.n == 0 {
		q.sum = 0 // base stays at the last V
	} else {
		q.rebase()
	}
	if e.vlag < 0 {
		// The debt is paid as the V of those that stay moves on.
		e.leftQ, e.leftV = q, q.V()
	}
}

// Migrate removes e from q to move it to another core's queue: as
// Dequeue, except that the entity keeps only a debt (negative lag), not a
// credit. A credit is service owed by the entities of q, which it leaves;
// carried along, it would be paid by those of the queue it joins, which
// owe it nothing: a spinner owed 6 ms on a crowded core, stolen by the core
// of a SIP that blocks often, ran 6 ms ahead of that SIP at its next
// wake-up, at every steal. A debt travels, so that moving never clears it.
func (q *RunQueue) Migrate(e *Entity) {
	q.Dequeue(e)
	e.vlag = min(e.vlag, 0)
	e.leftQ = nil // the debt is paid where it is placed, not by sleeping here
}

// Charge accounts ran ns of CPU time to the queued entity e: its vruntime
// advances by ran*1024/weight, and its deadline is renewed if reached. The
// kernel calls it at every switch (and may call it more often). ran must be
// non-negative and should stay below about a second per call.
func (q *RunQueue) Charge(e *Entity, ran Duration) {
	if e.rq != q {
		panic(fmt.Sprintf("sched: Charge of entity %d that is not in this queue", e.ID))
	}
	if ran < 0 {
		panic(fmt.Sprintf("sched: Charge of %d ns", ran))
	}
	if ran == 0 {
		return
	}
	e.runtime += ran
	dv := int64(ran) // at the common weight, with 0 ≤ vrem < weight: no division
	if e.weight != NiceZeroWeight || e.vrem < 0 || e.vrem >= NiceZeroWeight {
		num := int64(ran)*NiceZeroWeight + e.vrem
		dv = num / e.weight
		e.vrem = num % e.weight
	}
	q.root = removeNode(q.root, e)
	e.vruntime += dv
	q.sum += dv * e.weight
	if e.vruntime >= e.deadline {
		e.deadline = e.vruntime + e.vslice()
	}
	q.insert(e)
	q.rebase()
}

// Pick returns the eligible entity with the earliest virtual deadline, or
// nil if q is empty. It does not modify q.
func (q *RunQueue) Pick() *Entity {
	var best *Entity
	for n := q.root; n != nil; {
		if q.Eligible(n) {
			// n and its whole left subtree are eligible.
			if n.left != nil && (best == nil || earlier(n.left.min, best)) {
				best = n.left.min
			}
			if best == nil || earlier(n, best) {
				best = n
			}
			n = n.right
		} else {
			n = n.left
		}
	}
	if best == nil && q.root != nil {
		// Cannot happen: the entity of least vruntime is always
		// eligible. Fall back to it rather than idle.
		best = q.root
		for best.left != nil {
			best = best.left
		}
	}
	return best
}

// SliceLeft returns the CPU time e may run before its vruntime reaches its
// deadline: the kernel's preemption budget for it.
func (q *RunQueue) SliceLeft(e *Entity) Duration {
	dv := e.deadline - e.vruntime
	if dv <= 0 {
		return 0
	}
	return Duration((dv*e.weight - e.vrem + NiceZeroWeight - 1) / NiceZeroWeight)
}

// vslice returns e's slice in its virtual time.
func (e *Entity) vslice() int64 { return e.scale(e.slice) }

// scale converts a real duration into e's virtual time (Linux's
// calc_delta_fair).
func (e *Entity) scale(d Duration) int64 {
	if e.weight == NiceZeroWeight {
		return int64(d) // the common weight: no division
	}
	return int64(d) * NiceZeroWeight / e.weight
}

// rebase moves base to V, keeping sum small.
func (q *RunQueue) rebase() {
	v := q.V()
	q.sum -= (v - q.base) * q.load
	q.base = v
}

func (q *RunQueue) insert(e *Entity) {
	e.left, e.right, e.min = nil, nil, e
	q.root = insertNode(q.root, e)
}

func (q *RunQueue) remove(e *Entity) { q.root = removeNode(q.root, e) }

// before is the tree order.
func before(a, b *Entity) bool {
	if a.vruntime != b.vruntime {
		return a.vruntime < b.vruntime
	}
	return a.seq < b.seq
}

// earlier is the pick order among eligible entities.
func earlier(a, b *Entity) bool {
	if a.deadline != b.deadline {
		return a.deadline < b.deadline
	}
	return before(a, b)
}

func update(t *Entity) {
	m := t
	if t.left != nil && earlier(t.left.min, m) {
		m = t.left.min
	}
	if t.right != nil && earlier(t.right.min, m) {
		m = t.right.min
	}
	t.min = m
}

func insertNode(t, e *Entity) *Entity {
	if t == nil {
		return e
	}
	if e.prio > t.prio {
		e.left, e.right = split(t, e)
		update(e)
		return e
	}
	if before(e, t) {
		t.left = insertNode(t.left, e)
	} else {
		t.right = insertNode(t.right, e)
	}
	update(t)
	return t
}

// split divides t into the entities before k and those after it.
func split(t, k *Entity) (l, r *Entity) {
	if t == nil {
		return nil, nil
	}
	if before(t, k) {
		a, b := split(t.right, k)
		t.right = a
		update(t)
		return t, b
	}
	a, b := split(t.left, k)
	t.left = b
	update(t)
	return a, t
}

// merge joins a and b, every entity of a being before every one of b.
func merge(a, b *Entity) *Entity {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	if a.prio > b.prio {
		a.right = merge(a.right, b)
		update(a)
		return a
	}
	b.left = merge(a, b.left)
	update(b)
	return b
}

func removeNode(t, e *Entity) *Entity {
	if t == nil {
		panic("sched: entity missing from its run queue's tree")
	}
	if t == e {
		m := merge(t.left, t.right)
		e.left, e.right, e.min = nil, nil, nil
		return m
	}
	if before(e, t) {
		t.left = removeNode(t.left, e)
	} else {
		t.right = removeNode(t.right, e)
	}
	update(t)
	return t
}

// Entities appends the queued entities to dst, in no promised order, and
// returns it: the caller's walk over its queue (to Reweigh them, say).
func (q *RunQueue) Entities(dst []*Entity) []*Entity {
	walk(q.root, func(e *Entity) { dst = append(dst, e) })
	return dst
}

// each calls f on every queued entity in tree order.
func (q *RunQueue) each(f func(*Entity)) { walk(q.root, f) }

func walk(t *Entity, f func(*Entity)) {
	for t != nil {
		walk(t.left, f)
		f(t)
		t = t.right
	}
}

// floorDiv returns ⌊a/b⌋ for b > 0.
func floorDiv(a, b int64) int64 {
	d := a / b
	if a%b != 0 && a < 0 {
		d--
	}
	return d
}

// mix64 is splitmix64's finalizer: a deterministic treap priority.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Yield gives up the rest of e's current request (sched_yield): its virtual
// deadline moves one slice later, as Linux's yield_task_fair does under
// EEVDF, so that an eligible entity with an earlier deadline runs next. A
// lone entity keeps running.
func (q *RunQueue) Yield(e *Entity) {
	if e.rq != q {
		panic(fmt.Sprintf("sched: Yield of entity %d that is not in this queue", e.ID))
	}
	q.root = removeNode(q.root, e)
	e.deadline += e.vslice()
	q.insert(e)
	q.rebase()
}

// MinRequest is the shortest request RequestFor gives: Linux's minimum
// sched_attr.sched_runtime is 100 µs; a tenth of the default slice keeps the
// switches that short requests cost within reason.
const MinRequest = 300 * Microsecond

// RequestFor returns the request size (Entity.Slice) for an entity that
// ran for burst since it last woke and now waits: twice its burst, within
// [MinRequest, base]. EEVDF bounds an entity's wake-up latency by its
// request (docs/scheduler.md), so an entity that runs briefly between
// waits (a SIP making host calls, a server answering requests) is picked
// soon after it wakes, ahead of hogs with the full base slice; one that
// runs long keeps base. Its share of the CPU does not change: a short
// request renews its deadline more often, nothing more.
func RequestFor(burst, base Duration) Duration {
	return min(max(2*burst, MinRequest), base)
}
