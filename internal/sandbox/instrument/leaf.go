package instrument

// Leaf functions spend a budget of their own.
//
// A function that calls no module function and has checked loops that
// keep the fuel in $c (wasi-libc's strcmp, strlen, memcpy) would load $c
// from the fuel global at its entry and store it back at every return, and
// every caller would write its own $c back before the call and reload it
// after: four memory accesses a call, for loops that run a few iterations
// (hash.c's strcmps compare two or three bytes). Instead $c starts at the
// constant leafBudget, the fast path never touches the global, and the
// slow path, when the budget runs out, spends the whole budget from the
// global at once, calls the hook if that leaves it below zero, and starts
// a new budget:
//
//	fuel -= leafBudget; if fuel < 0 { call $hook }; $c = leafBudget
//
// A caller needs no write-back around a call to a leaf (it does not
// spend, analysis.go): a leaf's charge that the caller's later store of
// its own $c overwrites is lost, and so is a refill by the hook, which
// only makes the caller reach the hook sooner. No endless run escapes: one
// leaf call that goes on spends from the global every leafBudget
// iterations with nobody writing it in between, and a caller that calls
// leaves endlessly does so from a loop, which checks. What a leaf call
// does without spending is at most leafBudget iterations, once a call:
// the latency bound becomes leafBudget+1 iterations a unit of fuel in
// the worst case (a caller's loop whose every iteration calls a leaf that
// runs just under its budget), and a fuel set to zero from outside is seen
// by a running leaf within leafBudget iterations.
const leafBudget = 64

// budget is a leaf's budget: leafBudget, or what the tests ask for.
func (w *bodyWriter) budget() int64 {
	if w.m.opts.leafBudget > 0 {
		return w.m.opts.leafBudget
	}
	return leafBudget
}

// leafBudget starts a leaf's budget: $c = leafBudget.
func (w *bodyWriter) leafBudget(dst []byte) []byte {
	dst = w.konst(dst, w.budget())
	dst = append(dst, 0x21) // local.set
	return appendU32(dst, w.local)
}

// leafHook is a leaf's slow path: it spends the budget from the global,
// calls the hook if that leaves it below zero, and starts a new budget.
func (w *bodyWriter) leafHook(dst []byte) []byte {
	add, lt := byte(0x7c), byte(opI64LtS) // i64.add
	if w.m.opts.Fuel32 {
		add, lt = 0x6a, opI32LtS // i32.add
	}
	dst = append(dst, opGlobalGet)
	dst = appendU32(dst, w.m.fuel)
	dst = w.konst(dst, -w.budget())
	dst = append(dst, add, 0x22) // local.tee $c: the global's new value
	dst = appendU32(dst, w.local)
	dst = append(dst, opGlobalSet)
	dst = appendU32(dst, w.m.fuel)
	dst = append(dst, 0x20) // local.get
	dst = appendU32(dst, w.local)
	dst = w.konst(dst, 0)
	dst = append(dst, lt, opIf, blockEmpty, opCall)
	dst = appendU32(dst, w.m.hook)
	dst = append(dst, opEnd)
	return w.leafBudget(dst)
}

// konst emits a constant of the fuel's type.
func (w *bodyWriter) konst(dst []byte, v int64) []byte {
	if w.m.opts.Fuel32 {
		return appendS64(append(dst, opI32Const), v)
	}
	return appendS64(append(dst, opI64Const), v)
}
