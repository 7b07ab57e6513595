// Package instrument rewrites a WebAssembly module so that it can be
// preempted without its cooperation: wazero has no fuel or yield API, so
// isle's sandbox instruments every module at load time.
//
// # What the rewritten module does
//
// Instrument adds a mutable global, the fuel (i64, or i32 with
// Options.Fuel32), exported under Options.FuelExport, unexported scratch
// globals, and imports a hook
// function of type () -> () (Options.HookModule, Options.HookName; an
// existing import of that name is reused). The header of every loop that
// needs a check subtracts one unit from the fuel an iteration, and a
// function that may recurse one unit on the way to its recursive calls;
// when the result is below zero the hook is called. A function on no cycle
// of the call graph has no such check, nor one whose recursive calls all
// sit in a checked loop, and a counted loop with constant bounds, no call
// and no nested loop has no check (analysis.go, place.go, bounded.go). A
// small loop's body is copied up to 8 times under one check that spends a
// unit for each copy, a dispatch loop's (one around a br_table) twice
// (unroll.go). The functions of a small recursion get three clones each,
// and a recursive call goes on to the next version of its callee, so that
// only every fourth level runs the recursion check, which spends four
// units; a clone's loops check on their back-edge (clone.go). The runtime implements the hook: it checks the time
// slice, may suspend the SIP's coroutine, and refills the fuel through
// wazero's api.MutableGlobal. The runtime can also force a call at the next
// check by setting the fuel to zero. The hook must leave the fuel at one or
// more, or the guest calls it again without making progress.
//
// Within a function that has checked loops the fuel is cached in a new
// local, $c, so that a loop header only decrements a register: $c is
// loaded from the global at entry and written back before every call to a
// function that may spend fuel (and reloaded after it), before return,
// return_call and branches to the function's label, at the final end, and
// around the hook call. A recursive function without checked loops spends
// the global directly, and so does a function whose every checked loop
// makes calls (the write-back around the calls would cost as much), and
// every function of 2 KiB or more. A leaf, a function that calls no
// module function, starts $c at a budget of its own, never writes it
// back, and spends the whole budget from the global when it runs out
// (leaf.go); its callers need no write-back around it. A
// recursive function gets, at the last point that all its recursive calls
// pass (place.go),
//
//	local.get $c  i64.const 1  i64.sub  local.tee $c  i64.const 0  i64.lt_s
//	if  <save params>  $fuel = $c  call $hook  $c = $fuel  <restore params>  end
//
// A loop `loop BT ... end`, where BT has parameters P and results R, becomes
//
//	block BT                   ;; $done: P -> R
//	  loop (P -> [])           ;; $outer: re-entered after the hook with P
//	    block (P -> P)         ;; $slow: leaves the loop with its current P
//	      loop BT              ;; $L: the original loop
//	        $c -= 1  br_if $slow ($c < 0)
//	        ...body...         ;; labels outside $L shifted by 3
//	      end
//	      br $done             ;; R on the stack
//	    end
//	    <save P and the assigned locals in scratch globals>
//	    $fuel = $c  call $hook  $c = $fuel
//	    <restore them>
//	    br $outer
//	  end
//	  unreachable
//	end
//
// so the hot path of a loop only decrements and branches forward; the call
// to the hook is outside the loop, and no loop variable is live across it
// (wazero's compiler would otherwise store such a variable on every
// iteration; scratch.go says why). docs/preemption.md gives the
// measurements and the reasons.
//
// # Index renumbering
//
// A new function import comes before every module-defined function in the
// function index space, so when the hook is added Instrument renumbers
// call, return_call, ref.func (in bodies, globals and element expressions),
// element segment function lists, function exports, the start function and
// the function, local and label maps of the "name" section. The clones of
// small recursive functions follow every module-defined function. The fuel global
// and scratch globals and any block types the wrappers need are appended,
// so no global or type index moves. DWARF custom sections (".debug_*") are dropped: they name
// code offsets that have moved; a "name" section that does not parse is
// dropped too.
//
// # What it accepts
//
// The instruction walker (opcode.go) knows every opcode and immediate that
// wazero v1.12 accepts by default — MVP, sign extension, saturating
// float-to-int, multi-value, bulk memory, reference types and SIMD — and
// also tail calls, atomics and the typed-function-reference branches.
// Exception handling is refused (ErrUnsupported). Instrument never panics:
// malformed or unsupported input is an error, and for a module that wazero
// validates the output validates too (FuzzInstrument checks both).
//
// Instrument also checks, section by section in the order wazero decodes
// them, that no vector count exceeds the bytes left and that no body
// declares more than MaxLocals locals, because wazero allocates by those
// counts before reading the items: run Instrument before handing a module
// to wazero.
//
// Instrument is a pure function of its input; it keeps no state between
// calls and may run on many goroutines at once.
package instrument
