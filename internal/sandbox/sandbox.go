// Package sandbox turns WebAssembly modules into software-isolated processes.
// It is the only package of isle that imports wazero.
//
// The rules of the interface:
//
//   - A Runtime is created once per machine with the host modules isle offers
//     (wasi_snapshot_preview1, isle). Compiled code is immutable and shared by
//     every core; a Runtime is safe for concurrent use.
//   - Load reads nothing from disk: it validates and compiles bytes, and
//     refuses, naming it, an import that no host module provides.
//   - A Process runs on a coroutine (iter.Pull). Resume runs it until it
//     suspends or ends; whichever goroutine calls Resume runs it, so a
//     suspended Process may be resumed by another core: that is migration.
//     Only one goroutine may call Resume at a time (the owning core).
//   - Host functions run on the Process's coroutine. They read and write guest
//     memory only through Memory, whose methods check every bound, and they
//     suspend the Process with Call.Suspend, which returns when the owner
//     resumes it.
//   - A trap, an exit or a kill ends that Process alone.
package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"isle/internal/sandbox/instrument"
)

// ValType is a WebAssembly value type of a host function's parameter or result.
type ValType = api.ValueType

// The value types host functions use.
const (
	I32 = api.ValueTypeI32
	I64 = api.ValueTypeI64
	F32 = api.ValueTypeF32
	F64 = api.ValueTypeF64
)

// HostFunc is one function a host module exports to guests.
type HostFunc struct {
	Name    string
	Params  []ValType
	Results []ValType
	// Fn runs on the calling Process's coroutine. args holds the parameters
	// on entry; Fn writes the results into args[:len(Results)].
	Fn func(c *Call, args []uint64)
}

// HostModule is a named set of host functions.
type HostModule struct {
	Name  string
	Funcs []HostFunc
}

// Config configures a Runtime. The zero value is usable.
type Config struct {
	// CacheDir, when set, keeps compiled code on disk between runs, and
	// modules rewritten for preemption (rewritten.go).
	CacheDir string
	// MemoryLimitPages caps each SIP's linear memory (64 KiB pages); 0 means
	// wazero's default of 65536 pages (4 GiB), the most a wasm32 memory can
	// have. A module whose declared maximum is larger gets this one; a module
	// whose minimum is larger fails to load. A memory.grow past it returns -1.
	MemoryLimitPages uint32
	// Budget, when set, is the machine's memory budget shared by every
	// process of the runtime: a memory.grow that would pass it returns -1
	// (see MemoryBudget).
	Budget *MemoryBudget
	// Preempt, when set, makes every module preemptible: Load rewrites it
	// (package instrument) so that function entries and loop headers spend
	// fuel, and when the fuel runs out the guest calls a hook that refills
	// it and calls Preempt on the Process's coroutine. Preempt may suspend
	// the Process (Call.Suspend), as a host function may.
	Preempt func(c *Call)
	// Fuel is the number of checks (function entries and loop iterations)
	// between two calls of Preempt; 0 means DefaultFuel.
	Fuel int64
	// AtEnd, when set, runs on the Process's coroutine once _start has
	// returned, exited or trapped (not after a kill), before the Process
	// ends: the personality sends what it still holds (buffered console
	// output). It may suspend the Process; the guest's memory is gone.
	AtEnd func(c *Call)
}

// maxMemoryPages is the most pages a wasm32 memory can have (4 GiB).
const maxMemoryPages = 65536

// DefaultFuel is the number of checks between two calls of the preemption
// hook: with a check costing a few ns in a tight loop, the hook runs every
// 20–200 µs, a small fraction of a 3 ms slice, at a cost of ~0.1–1%.
const DefaultFuel = 10_000

// The hook that instrumented modules import.
const (
	hookModule = "isle_sched"
	hookName   = "preempt"
	fuelExport = "isle.fuel"
)

// Runtime compiles modules and instantiates processes.
type Runtime struct {
	mems    memPool  // reserved regions of ended processes' memories, for the next ones
	coros   coroPool // coroutines of ended processes, for the next ones (coro.go)
	cfg     Config
	rt      wazero.Runtime
	cache   wazero.CompilationCache
	exports map[string]map[string]signature // host module → function name → its type; immutable

	modConfig       wazero.ModuleConfig // what every process is instantiated with, made once (wazero's configs are immutable); immutable
	rewriterVersion int                 // instrument.Version, part of a rewritten module's cache key; immutable (tests change it before loading)
	optsDigest      string              // Runtime.optionsDigest, part of the same key; immutable
	idSettle        time.Duration       // idSettle (fileid.go); immutable (tests shorten it before loading)
	rewrites        atomic.Int64        // modules rewritten so far (not found in the cache), for tests
}

// NewRuntime creates a runtime offering the given host modules.
func NewRuntime(ctx context.Context, cfg Config, hosts []HostModule) (*Runtime, error) {
	rc := wazero.NewRuntimeConfig().WithCloseOnContextDone(false)
	if cfg.MemoryLimitPages > maxMemoryPages {
		return nil, fmt.Errorf("memory limit of %d pages: a wasm32 memory has at most %d", cfg.MemoryLimitPages, maxMemoryPages)
	}
	if cfg.MemoryLimitPages > 0 {
		rc = rc.WithMemoryLimitPages(cfg.MemoryLimitPages)
	}
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", cfg.CacheDir, err)
		}
		cache = c
		rc = rc.WithCompilationCache(cache)
	}
	if cfg.Fuel <= 0 {
		cfg.Fuel = DefaultFuel
	}
	r := &Runtime{cfg: cfg, rt: wazero.NewRuntimeWithConfig(ctx, rc), cache: cache, exports: map[string]map[string]signature{}, rewriterVersion: instrument.Version}
	r.modConfig = wazero.NewModuleConfig().WithName("").WithStartFunctions().
		// isle's WASI serves random_get itself; without a source of its
		// own, wazero would seed a math/rand source for every instance
		// (~8% of a spawn).
		WithRandSource(rand.Reader)
	r.optsDigest, r.idSettle = r.optionsDigest(), idSettle
	if f, err := os.Open("/proc/self/pagemap"); err == nil {
		r.mems.pagemap = f // to restore images in reused memories (image.go); without it they are dropped
	}
	if cfg.Preempt != nil {
		hosts = append(hosts[:len(hosts):len(hosts)], HostModule{Name: hookModule, Funcs: []HostFunc{{Name: hookName, Fn: r.preempt}}})
	}
	hosts, err := mergeHosts(hosts)
	if err != nil {
		r.Close(ctx)
		return nil, err
	}
	for _, h := range hosts {
		b := r.rt.NewHostModuleBuilder(h.Name)
		names := map[string]signature{}
		for _, f := range h.Funcs {
			fn := f.Fn
			b.NewFunctionBuilder().
				WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
					p := processOf(ctx)
					c := &p.call
					c.mod = m
					fn(c, stack)
				}), f.Params, f.Results).
				WithName(f.Name).
				Export(f.Name)
			names[f.Name] = signature{f.Params, f.Results}
		}
		if _, err := b.Instantiate(ctx); err != nil {
			r.Close(ctx)
			return nil, fmt.Errorf("host module %s: %w", h.Name, err)
		}
		r.exports[h.Name] = names
	}
	return r, nil
}

// mergeHosts joins host modules of the same name (several packages offer
// functions of module "isle"), refusing a function defined twice.
func mergeHosts(hosts []HostModule) ([]HostModule, error) {
	var out []HostModule
	index := map[string]int{}
	for _, h := range hosts {
		i, ok := index[h.Name]
		if !ok {
			index[h.Name] = len(out)
			out = append(out, HostModule{Name: h.Name, Funcs: append([]HostFunc(nil), h.Funcs...)})
			continue
		}
		for _, f := range h.Funcs {
			for _, g := range out[i].Funcs {
				if g.Name == f.Name {
					return nil, fmt.Errorf("host function %s.%s defined twice", h.Name, f.Name)
				}
			}
			out[i].Funcs = append(out[i].Funcs, f)
		}
	}
	return out, nil
}

// Close releases the runtime and everything compiled or instantiated by it.
func (r *Runtime) Close(ctx context.Context) error {
	err := r.rt.Close(ctx)
	r.coros.drain()
	r.mems.drain()
	if r.cache != nil {
		r.cache.Close(ctx)
	}
	return err
}

// MaxModuleBytes is the largest module isle loads, from a file (`isle run`,
// Machine.Load) or by proc_spawn: larger ones are refused before they are
// read whole, so that a device or an endless pipe cannot fill the host's
// memory. The largest programs seen here (Go test binaries) are ~40 MiB.
const MaxModuleBytes = 256 << 20

// Module is a validated, compiled program. It is immutable and shared.
type Module struct {
	rt       *Runtime
	compiled wazero.CompiledModule
	// The memory it defines, in bytes: its size at instantiation and the
	// most it may grow to (declared maximum, clamped to the per-SIP limit);
	// both 0 without a memory.
	memMin, memMax uint64
	// funcShift is how many functions instrumenting imported (the
	// preemption hook), so a trap's stack numbers unnamed functions as the
	// module loaded did (trapStack). Immutable.
	funcShift uint32
	// img is the initial memory, mapped copy-on-write into each process's
	// memory (image.go); nil when wazero copies the data segments. Immutable.
	img *memImage
}

// LoadError says why bytes could not be loaded as a program.
type LoadError struct {
	Reason string
}

func (e *LoadError) Error() string { return e.Reason }

// Load validates and compiles a module. With Config.Preempt set it first
// rewrites the module, or finds it rewritten in the cache (rewritten.go).
func (r *Runtime) Load(ctx context.Context, wasm []byte) (*Module, error) {
	mod, _, err := r.load(ctx, wasm)
	return mod, err
}

// load is Load, returning also what it compiled.
func (r *Runtime) load(ctx context.Context, wasm []byte) (*Module, rewritten, error) {
	if len(wasm) < 4 || string(wasm[:4]) != "\x00asm" {
		return nil, rewritten{}, &LoadError{Reason: "not a WebAssembly module (bad magic number)"}
	}
	if len(wasm) > MaxModuleBytes {
		return nil, rewritten{}, &LoadError{Reason: fmt.Sprintf("larger than %d MiB, the most isle loads", MaxModuleBytes>>20)}
	}
	cm, rw, img, err := r.compile(ctx, wasm)
	if err != nil {
		return nil, rw, err
	}
	mod, err := r.finish(ctx, cm, rw, img)
	return mod, rw, err
}

// finish checks a compiled module's imports and exports, and keeps the
// rewritten module in the cache.
func (r *Runtime) finish(ctx context.Context, cm wazero.CompiledModule, rw rewritten, img *memImage) (*Module, error) {
	wasm := rw.wasm
	if err := r.checkImports(cm); err != nil {
		cm.Close(ctx)
		return nil, err
	}
	for _, m := range cm.ImportedMemories() {
		mod, name, _ := m.Import()
		cm.Close(ctx)
		return nil, &LoadError{Reason: fmt.Sprintf("module imports memory %s.%s, which isle does not provide", mod, name)}
	}
	start, ok := cm.ExportedFunctions()["_start"]
	if !ok {
		cm.Close(ctx)
		return nil, &LoadError{Reason: "module exports no _start function (not a WASI command)"}
	}
	if len(start.ParamTypes()) > 0 || len(start.ResultTypes()) > 0 {
		cm.Close(ctx)
		return nil, &LoadError{Reason: "module's _start has type " + signature{start.ParamTypes(), start.ResultTypes()}.String() + ", want () -> () (a WASI command's _start takes and returns nothing)"}
	}
	rw.store()
	mod := &Module{rt: r, compiled: cm, funcShift: rw.shift, img: img}
	if has, min, max, hasMax := memoryLimits(wasm); has {
		limit := r.cfg.MemoryLimitPages
		if limit == 0 {
			limit = maxMemoryPages
		}
		if !hasMax || max > limit {
			max = limit
		}
		mod.memMin, mod.memMax = uint64(min)*pageBytes, uint64(max)*pageBytes
	}
	return mod, nil
}

// compile compiles a module, first rewritten for preemption when the
// runtime preempts (rw.wasm), then with its active data segments taken out
// into a memory image where it can have one (image.go).
func (r *Runtime) compile(ctx context.Context, wasm []byte) (wazero.CompiledModule, rewritten, *memImage, error) {
	rw := rewritten{wasm: wasm}
	if r.cfg.Preempt == nil {
		if err := precheck(wasm); err != nil {
			return nil, rw, nil, &LoadError{Reason: "invalid module: " + err.Error()}
		}
	} else {
		var sum [sha256.Size]byte
		if r.cfg.CacheDir != "" {
			sum = sha256.Sum256(wasm)
		}
		path := r.cachePath(sum)
		var ok bool
		if rw, ok = cachedRewrite(path); ok {
			rw.sum = sum
			if cm, img, err := r.compileImaged(ctx, rw.wasm); err == nil {
				return cm, rw, img, nil
			}
			rw.forget() // a damaged cache file: rewrite the original again
		}
		var err error
		if rw, err = r.rewrite(wasm, path); err != nil {
			return nil, rw, nil, err
		}
		rw.sum = sum
	}
	cm, img, err := r.compileImaged(ctx, rw.wasm)
	if err != nil {
		return nil, rw, nil, &LoadError{Reason: "invalid module: " + firstLine(err.Error())}
	}
	return cm, rw, img, nil
}

// compileImaged compiles wasm with its data segments in an image, where
// it can have one.
func (r *Runtime) compileImaged(ctx context.Context, wasm []byte) (wazero.CompiledModule, *memImage, error) {
	var img *memImage
	if has, min, _, _ := memoryLimits(wasm); has {
		wasm, img = imageFor(wasm, uint64(min)*pageBytes)
	}
	cm, err := r.rt.CompileModule(ctx, wasm)
	return cm, img, err
}

// Fits reports whether the module's initial memory fits in what is left of
// the machine's memory budget now. It is a hint for refusing a spawn early
// (ENOMEM): the memory is charged when the process starts, and a process
// whose memory no longer fits by then traps (errBudget).
func (m *Module) Fits() bool {
	b := m.rt.cfg.Budget
	return b == nil || m.memMin <= b.limit-min(b.Used(), b.limit)
}

// signature is a function's type.
type signature struct{ params, results []ValType }

func (s signature) String() string {
	list := func(ts []ValType) string {
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(names, ", ") + ")"
	}
	return list(s.params) + " -> " + list(s.results)
}

func (s signature) equal(params, results []ValType) bool {
	return slices.Equal(s.params, params) && slices.Equal(s.results, results)
}

// checkImports refuses a module that imports a function no host module
// provides, or one with another type than the host's: wazero would refuse
// it only when instantiating.
func (r *Runtime) checkImports(cm wazero.CompiledModule) error {
	var missing []string
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		sig, ok := r.exports[mod][name]
		if !ok {
			missing = append(missing, mod+"."+name)
			continue
		}
		if !sig.equal(f.ParamTypes(), f.ResultTypes()) {
			return &LoadError{Reason: fmt.Sprintf("module imports %s.%s with type %s, but isle's has type %s",
				mod, name, signature{f.ParamTypes(), f.ResultTypes()}, sig)}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return &LoadError{Reason: "module imports " + strings.Join(missing, ", ") + ", which isle does not provide"}
	}
	return nil
}

// Close releases the compiled code.
func (m *Module) Close(ctx context.Context) error { return m.compiled.Close(ctx) }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// preempt is the hook instrumented code calls when its fuel runs out.
func (r *Runtime) preempt(c *Call, _ []uint64) {
	p := c.p
	if p.fuel == nil {
		g, ok := c.mod.ExportedGlobal(fuelExport).(api.MutableGlobal)
		if !ok {
			panic("sandbox: instrumented module without its fuel global")
		}
		p.fuel = g
	}
	p.fuel.Set(uint64(r.cfg.Fuel))
	r.cfg.Preempt(c)
}

// errKilled unwinds a Process whose owner stopped it while it was suspended.
var errKilled = errors.New("killed")

// padGlobals is how many unused globals every module gets. wazero's
// compiler keeps an instance's globals in one buffer of its own (16 bytes a
// global, with the instance's other per-call state), allocated when the
// instance is made, and Go puts buffers of one size class side by side: two
// SIPs' buffers could share a cache line, and each SIP writes its fuel and
// its stack-pointer global on every call, so two cores that ran them bounced
// that line all the time. Whether they did depended on where the buffers
// fell, so a SIP ping-pong across cores took 0.93 µs in one run and 1.7 µs
// in the next. (Loops keep the fuel in a local, so CPU-bound SIPs that
// make few calls were not measurably slowed: the demo's spinners did the
// same work with and without the padding.) 64 more
// globals take the buffer past 1 KiB, where every Go size class is a whole
// number of cache lines, so each instance's buffer has lines of its own:
// the ping-pong then took 0.69–0.71 µs in every run. It costs 1 KiB a SIP.
const padGlobals = 64
