package instrument

import "fmt"

// Which functions need a check at their entry.
//
// A check at every loop header bounds the time between two checks within
// one activation of a function; what is left unbounded is recursion: a
// chain of calls that never loops inside a function can go on forever only
// if some function is entered again before it returns. Every such chain
// runs around a cycle of the call graph, so one check on every cycle is
// enough, and a function that is on no cycle goes without one.
//
// The call graph's edges are the direct calls (call, return_call) between
// module-defined functions. An indirect call (call_indirect, call_ref and
// their return_ forms) may reach any function, so a function that makes one
// is taken to be on a cycle and gets a check itself: every cycle that uses
// an indirect call then passes through a checked function, and the cycles
// made of direct calls only are the strongly connected components (with
// more than one function, or one that calls itself) of the direct graph.
// Calls to imported functions are no edges: a host function does not call
// back into the module (the hook's contract; isle's host functions never
// do).

// minInBodyCheck is the size in bytes of a body from which a loop that
// makes calls checks in its body rather than in the wrapper: in a large
// function the wrapper's second loop header cost wasi-libc's printf_core
// about 50 instructions an iteration, while in a small one (fib, the
// Ackermann function, a subset sum) the hook's call in the loop's body
// costs more than the wrapper (recursion 1.15 -> 1.23 of the original's
// instructions with every calling loop checked in its body).
const minInBodyCheck = 2048

// funcInfo is what the analysis learned about one module-defined function.
type funcInfo struct {
	recursive bool       // on a cycle of the call graph (or makes an indirect call)
	entryAt   int        // recursive: offset in the body of the instruction its check precedes (place.go); -1: none
	checks    bool       // has a check: a cycle check, or a loop that needs one
	loops     bool       // has a loop that needs a check
	global    bool       // every checked loop makes calls: the fuel stays in the global, no $c
	spends    bool       // it, or a function it may call, has a check, and it is no leaf: a caller writes $c back around a call to it
	leaf      bool       // calls no module function, has checked loops, keeps its fuel in $c: a budget of leafBudget units (leaf.go)
	plans     []loopPlan // by loop instruction, in order: no check (bounded.go), or unrolled (unroll.go)

	code       []byte // the body, as the code section holds it
	first      int    // offset in code of the first instruction
	quietLoops int    // checked loops with no call to a module function: they keep the fuel in $c
}

// analyze decides, for each module-defined function, where it needs
// checks and which of its calls need the fuel written back.
func (m *module) analyze() ([]funcInfo, error) {
	n := len(m.funcTypes)
	out := make([]funcInfo, n)
	i := find(m.secs, secCode)
	if i < 0 || n == 0 {
		return out, nil
	}
	first, edges, err := m.scanBodies(m.secs[i].data, out)
	if err != nil {
		return nil, err
	}
	comp := make([]int32, n)
	onCycle := make([]bool, n)
	markCycles(first, edges, onCycle, comp)
	indirect := make([]bool, n)
	for f := range out {
		indirect[f] = out[f].recursive
	}
	m.comp = comp
	m.planClones(out, comp, onCycle, indirect)
	for f := range out {
		info := &out[f]
		info.recursive = info.recursive || onCycle[f] || m.opts.checkAll
		info.loops = info.loops || m.opts.checkAll
		info.global = info.loops && (info.quietLoops == 0 || len(info.code) >= minInBodyCheck) && !m.opts.checkAll
		info.entryAt = -1
		if info.recursive {
			info.entryAt = info.first
			if !m.opts.checkAll {
				p := m.placeCheck(info.code, info.first, m.cycleCall(int32(f), comp, onCycle))
				if p.covered {
					info.recursive = false // the loops' checks stop it
				}
				info.entryAt = p.at
			}
		}
		info.checks = info.loops || info.recursive
		info.leaf = info.loops && !info.global && !info.recursive && !indirect[f] && first[f] == first[f+1] && !m.opts.checkAll
		info.spends = info.checks && !info.leaf
	}
	// A function spends if a function it calls does: propagate backwards
	// along the edges until nothing changes (each pass is linear; a pass
	// that changes nothing ends it).
	for changed := true; changed; {
		changed = false
		for f := 0; f < n; f++ {
			if out[f].spends {
				continue
			}
			for _, g := range edges[first[f]:first[f+1]] {
				if out[g].spends {
					out[f].spends, changed = true, true
					break
				}
			}
		}
	}
	return out, nil
}

// cycleCall returns the test for calls along a cycle from function f:
// direct calls to its own strongly connected component, and indirect
// calls.
func (m *module) cycleCall(f int32, comp []int32, onCycle []bool) func(*instr) bool {
	return func(in *instr) bool {
		switch in.op {
		case opCall, opReturnCall:
			g := uint64(in.idx) - uint64(m.funcImports)
			return in.idx >= m.funcImports && g < uint64(len(comp)) && onCycle[g] && comp[g] == comp[f]
		case 0x11, 0x13, 0x14, 0x15: // call_indirect, return_call_indirect, call_ref, return_call_ref
			return true
		}
		return false
	}
}

// scanBodies reads the code section's bodies into out (their loops'
// plans, their indirect calls) and returns the direct call graph: the
// edges from function f are edges[first[f]:first[f+1]].
func (m *module) scanBodies(sec []byte, out []funcInfo) (first, edges []int32, err error) {
	n := len(out)
	r := &reader{b: sec}
	cnt, err := r.u32()
	if err != nil {
		return nil, nil, err
	}
	if cnt != uint32(n) {
		return nil, nil, fmt.Errorf("%d bodies for %d functions", cnt, n)
	}
	first = make([]int32, n+1)
	var s bodyScan
	for f := 0; f < n; f++ {
		first[f] = int32(len(edges))
		size, err := r.u32()
		if err != nil {
			return nil, nil, err
		}
		code, err := r.bytes(size)
		if err != nil {
			return nil, nil, fmt.Errorf("body %d: %w", f, err)
		}
		if edges, err = s.scan(m, code, &out[f], edges); err != nil {
			return nil, nil, fmt.Errorf("body %d: %w", f, err)
		}
	}
	first[n] = int32(len(edges))
	return first, edges, nil
}

// bodyScan is scanBodies's state for one body; its slices are reused.
type bodyScan struct {
	in, prev instr
	known    knownConsts
	frames   []scanFrame
}

// scanFrame is a control frame open during the scan.
type scanFrame struct {
	loop    int  // index of its loop plan, or -1 for a block or if
	callers bool // a loop whose iterations may call a module function
	call    bool // a call to a module function since the frame's start, not followed by a return
	table   bool // a loop that opens with a br_table (opensWithTable)
}

// scan reads one body: it plans its loops, notes its indirect calls and
// appends its direct calls to module functions to edges.
func (s *bodyScan) scan(m *module, code []byte, info *funcInfo, edges []int32) ([]int32, error) {
	br := &reader{b: code}
	if err := skipLocals(br); err != nil {
		return nil, err
	}
	info.code, info.first = code, br.pos
	s.known.reset()
	s.prev = instr{}
	s.frames = s.frames[:0]
	in := &s.in
	for !br.done() {
		if err := next(br, in); err != nil {
			return nil, err
		}
		switch in.op {
		case opBlock, opIf:
			s.frames = append(s.frames, scanFrame{loop: -1})
		case opLoop:
			p := m.planLoop(code, br.pos, in.bt, &s.known)
			s.frames = append(s.frames, scanFrame{loop: len(info.plans), table: opensWithTable(code, br.pos)})
			info.plans = append(info.plans, p)
			info.loops = info.loops || !p.bounded
		case opElse:
			s.commitCalls(len(s.frames) - 1)
		case 0x00, 0x0f: // unreachable, return
			if k := len(s.frames) - 1; k >= 0 {
				s.frames[k].call = false
			}
		case opEnd:
			if k := len(s.frames) - 1; k >= 0 {
				s.commitCalls(k)
				if f := s.frames[k]; f.loop >= 0 && !info.plans[f.loop].bounded {
					if f.callers {
						// In a large function, or a dispatch loop (a Go
						// function's own loop) in any: the check in the
						// body. Elsewhere the wrapper.
						info.plans[f.loop].inBody = len(code) >= minInBodyCheck || f.table
						info.plans[f.loop].dispatch = f.table
						info.plans[f.loop].unroll = 0 // a dispatch loop that calls: each Go function's own loop
					} else {
						info.quietLoops++
					}
				}
				s.frames = s.frames[:k]
			}
		case opCall, opReturnCall:
			if in.idx >= m.funcImports && uint64(in.idx-m.funcImports) < uint64(len(m.funcTypes)) {
				edges = append(edges, int32(in.idx-m.funcImports))
				s.noteCall()
			}
		case 0x11, 0x13, 0x14, 0x15: // call_indirect, return_call_indirect, call_ref, return_call_ref
			info.recursive = true
			s.noteCall()
		}
		s.known.observe(&s.prev, in)
		s.prev.op, s.prev.val = in.op, in.val
	}
	return edges, nil
}

// opensWithTable reports whether the loop whose body starts at code[pos]
// opens with a dispatch: blocks without parameters or results, then
// local.get and br_table, as the loop that each Go function's body is
// (its resume points) does.
func opensWithTable(code []byte, pos int) bool {
	_, ok := dispatchLocal(code, pos)
	return ok
}

// dispatchLocal returns the local that the br_table a loop opens with
// (opensWithTable) dispatches on.
func dispatchLocal(code []byte, pos int) (uint32, bool) {
	r := &reader{b: code, pos: pos}
	var in instr
	for {
		if next(r, &in) != nil {
			return 0, false
		}
		switch {
		case in.op == opBlock && len(in.bt.raw) == 1 && in.bt.raw[0] == blockEmpty:
		case in.op == opLocalGet:
			l := in.idx
			return l, next(r, &in) == nil && in.op == opBrTable
		default:
			return 0, false
		}
	}
}

// noteCall notes a call in the innermost frame.
func (s *bodyScan) noteCall() {
	if k := len(s.frames) - 1; k >= 0 {
		s.frames[k].call = true
	}
}

// commitCalls, at the end of frame k (or at an else), notes the calls
// made in it in every loop that holds it: their iterations make calls.
// A call that the frame's straight-line code follows with a return or an
// unreachable is no such call (it was cancelled): it is on the way out of
// the loop, as clang places the code after an interpreter's dispatch loop.
func (s *bodyScan) commitCalls(k int) {
	if k < 0 || !s.frames[k].call {
		return // k < 0: an else outside any frame, which the rewriting reports
	}
	s.frames[k].call = false
	for j := k; j >= 0; j-- {
		if s.frames[j].loop >= 0 {
			s.frames[j].callers = true
		}
	}
}

// planLoop decides what a loop whose body starts at code[pos] gets.
func (m *module) planLoop(code []byte, pos int, bt blockType, known *knownConsts) loopPlan {
	p := loopPlan{pos: pos, bt: bt}
	if m.opts.checkAll || m.opts.loopCallInBody {
		return p
	}
	p.bounded = boundedLoop(code, pos, bt, known)
	if !p.bounded && !m.opts.noUnroll {
		p.unroll, p.end = planUnroll(code, pos, bt)
	}
	return p
}

// skipLocals moves r past a body's local declarations.
func skipLocals(r *reader) error {
	groups, err := r.u32()
	if err != nil {
		return err
	}
	for g := uint32(0); g < groups; g++ {
		if _, err := r.u32(); err != nil {
			return err
		}
		if _, err := readValType(r); err != nil {
			return err
		}
	}
	return nil
}

// markCycles sets on[f] for every function f on a cycle of the graph whose
// edges from f are edges[first[f]:first[f+1]]: the members of strongly
// connected components of two or more, and functions with an edge to
// themselves; comp[f] names f's component (by its root). It is Tarjan's algorithm, with an explicit stack so that a
// long chain of calls cannot overflow the goroutine's.
func markCycles(first, edges []int32, on []bool, comp []int32) {
	n := len(first) - 1
	const unvisited = -1
	index := make([]int32, n)
	low := make([]int32, n)
	onStack := make([]bool, n)
	for f := range index {
		index[f] = unvisited
	}
	var stack []int32 // Tarjan's stack of visited functions
	type visit struct {
		f    int32
		next int32 // the next edge of f to follow
	}
	var path []visit // the depth-first path
	counter := int32(0)
	for root := 0; root < n; root++ {
		if index[root] != unvisited {
			continue
		}
		path = append(path, visit{f: int32(root), next: first[root]})
		index[root], low[root] = counter, counter
		counter++
		stack = append(stack, int32(root))
		onStack[root] = true
		for len(path) > 0 {
			top := &path[len(path)-1]
			f := top.f
			if top.next < first[f+1] {
				g := edges[top.next]
				top.next++
				if g == f {
					on[f] = true
				}
				switch {
				case index[g] == unvisited:
					index[g], low[g] = counter, counter
					counter++
					stack = append(stack, g)
					onStack[g] = true
					path = append(path, visit{f: g, next: first[g]})
				case onStack[g]:
					low[f] = min(low[f], index[g])
				}
				continue
			}
			path = path[:len(path)-1]
			if len(path) > 0 {
				p := path[len(path)-1].f
				low[p] = min(low[p], low[f])
			}
			if low[f] != index[f] {
				continue
			}
			// f is the root of a component: pop it.
			k := len(stack) - 1
			for stack[k] != f {
				k--
			}
			if len(stack)-k > 1 {
				for _, g := range stack[k:] {
					on[g] = true
				}
			}
			for _, g := range stack[k:] {
				onStack[g] = false
				comp[g] = f
			}
			stack = stack[:k]
		}
	}
}
