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

// funcInfo is what the analysis learned about one module-defined function.
type funcInfo struct {
	recursive bool       // on a cycle of the call graph (or makes an indirect call): a check at its entry
	checks    bool       // recursive, or has a loop that needs a check
	loops     bool       // has a loop that needs a check: it keeps the fuel in $c
	spends    bool       // it, or a function it may call, has a check: a caller writes $c back around a call to it
	plans     []loopPlan // by loop instruction, in order: no check (bounded.go), or unrolled (unroll.go)
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
	r := &reader{b: m.secs[i].data}
	cnt, err := r.u32()
	if err != nil {
		return nil, err
	}
	if cnt != uint32(n) {
		return nil, fmt.Errorf("%d bodies for %d functions", cnt, n)
	}
	// Direct edges, as one flat list with offsets per function.
	first := make([]int32, n+1)
	var edges []int32
	var in, prev instr
	var known knownConsts
	for f := 0; f < n; f++ {
		first[f] = int32(len(edges))
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		code, err := r.bytes(size)
		if err != nil {
			return nil, fmt.Errorf("body %d: %w", f, err)
		}
		br := &reader{b: code}
		if err := skipLocals(br); err != nil {
			return nil, fmt.Errorf("body %d: %w", f, err)
		}
		info := &out[f]
		known.reset()
		prev = instr{}
		for !br.done() {
			if err := next(br, &in); err != nil {
				return nil, fmt.Errorf("body %d: %w", f, err)
			}
			switch in.op {
			case opLoop:
				var p loopPlan
				if !m.opts.checkAll && !m.opts.loopCallInBody {
					p.bounded = boundedLoop(code, br.pos, in.bt, &known)
					if !p.bounded && !m.opts.noUnroll {
						p.unroll, p.tail = planUnroll(code, br.pos, in.bt)
					}
				}
				info.plans = append(info.plans, p)
				info.loops = info.loops || !p.bounded
			case opCall, opReturnCall:
				if in.idx >= m.funcImports && uint64(in.idx-m.funcImports) < uint64(n) {
					edges = append(edges, int32(in.idx-m.funcImports))
				}
			case 0x11, 0x13, 0x14, 0x15: // call_indirect, return_call_indirect, call_ref, return_call_ref
				info.recursive = true
			}
			known.observe(&prev, &in)
			prev.op, prev.val = in.op, in.val
		}
	}
	first[n] = int32(len(edges))
	onCycle := make([]bool, n)
	markCycles(first, edges, onCycle)
	for f := range out {
		info := &out[f]
		info.recursive = info.recursive || onCycle[f] || m.opts.checkAll
		info.loops = info.loops || m.opts.checkAll
		info.checks = info.loops || info.recursive
		info.spends = info.checks
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
// themselves. It is Tarjan's algorithm, with an explicit stack so that a
// long chain of calls cannot overflow the goroutine's.
func markCycles(first, edges []int32, on []bool) {
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
			}
			stack = stack[:k]
		}
	}
}
