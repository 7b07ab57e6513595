package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"isle"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// parseFlags parses fs, turning every problem into one line on stderr.
// It returns false with the exit status when the command should stop.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (int, bool) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0, false
		}
		fmt.Fprintf(stderr, "isle %s: %v (see isle %s --help)\n", fs.Name(), err, fs.Name())
		return exitUsage, false
	}
	return 0, true
}

func cmdRun(args []string, stdout, stderr io.Writer) int { return runWith(args, stdout, stderr, nil) }

// runWith is isle run; extend, when set, has the last word on the machine's
// configuration (isle node adds its name watcher).
func runWith(args []string, stdout, stderr io.Writer, extend func(isle.Config) isle.Config) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	rf := defineRunFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: isle run [flags] PROGRAM.wasm [ARGS...]\n\nflags:")
		fs.PrintDefaults()
	}
	if st, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return st
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "isle run: no program given (usage: isle run [flags] PROGRAM.wasm [ARGS...])")
		return exitUsage
	}
	rf.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { rf.set[f.Name] = true })
	cfg, st := rf.config(stdout, stderr)
	if st != 0 {
		return st
	}
	if *rf.traceFile != "" {
		// Created before the machine boots, so that a path that cannot
		// be written is said at once, not after the program ran.
		f, err := os.Create(*rf.traceFile)
		if err != nil {
			fmt.Fprintf(stderr, "isle run: --trace %v\n", unwrapPath(err))
			return exitError
		}
		defer f.Close()
		cfg = cfg.WithTrace(f, *rf.traceEvents).WithTraceCalls(*rf.traceCalls)
	}
	cfg, closeObs, ok := observeFlags(cfg, *rf.control, *rf.metrics, stderr)
	defer closeObs()
	if !ok {
		return exitError
	}
	if extend != nil {
		cfg = extend(cfg)
	}
	return runProgram(cfg, fs.Arg(0), fs.Args()[1:], *rf.stats, rf.set["tables"], stderr)
}

// runFlags are isle run's flags.
type runFlags struct {
	cores, maxProcs, instances, traceEvents                *int
	over, stats, envInherit, traceCalls                    *bool
	cacheDir, capacities, tablesFlag, memLimit, machineMem *string
	argv0, traceFile, control, metrics                     *string
	wasted                                                 *time.Duration
	dirs, envs, listens                                    listFlag
	set                                                    map[string]bool // the flags given
}

func defineRunFlags(fs *flag.FlagSet) *runFlags {
	rf := &runFlags{}
	rf.cores = fs.Int("cores", 0, "number of cores (default: one per CPU of the process's affinity mask)")
	rf.over = fs.Bool("oversubscribe", false, "allow more cores than host CPUs")
	rf.stats = fs.Bool("stats", false, "print each core's counters on stderr at exit")
	rf.cacheDir = fs.String("cache-dir", defaultCacheDir(), "directory for compiled code (empty: no cache)")
	rf.capacities = fs.String("core-capacity", "", "capacities of slower cores: CORE=CAP,... (1024 = a full core)")
	rf.wasted = fs.Duration("wasted-bound", 10*time.Millisecond, "report intervals longer than this in which a core idled while SIPs waited elsewhere")
	rf.tablesFlag = fs.String("tables", "", "keep the kernel tables, each replicated on every core or shared: NAME=replicated|shared,... (tables: names, procs; --stats then lists the process table)")
	rf.memLimit = fs.String("memory-limit", "4G", "cap each SIP's linear memory at SIZE (e.g. 512M; at most 4G): memory.grow past it returns -1")
	rf.machineMem = fs.String("machine-memory", "", "cap the sum of all SIPs' linear memories at SIZE (default: half of the host's memory or of isle's cgroup limit)")
	rf.maxProcs = fs.Int("max-procs", isle.DefaultMaxDescendants, "cap the live SIPs below the program (its whole subtree) at N: a spawn past it fails with EAGAIN")
	fs.Var(&rf.dirs, "dir", "offer host directory HOST to the program as GUEST: HOST[:GUEST][:ro] (repeatable; :ro refuses every change with EACCES; a GUEST of \".\" is offered as \"/\")")
	fs.Var(&rf.listens, "listen", "listen on TCP address ADDR (host:port) and offer the socket to the program after the preopens (repeatable)")
	fs.Var(&rf.envs, "env", "set an environment variable for the program: KEY=VALUE (repeatable)")
	rf.envInherit = fs.Bool("env-inherit", false, "pass isle's own environment to the program (--env overrides a variable)")
	rf.instances = fs.Int("instances", 1, "run N instances of the program, instance i on core i mod the cores, all offered the same --listen sockets (ISLE_INSTANCE=i in each one's environment, N > 1); isle exits when all have ended")
	rf.argv0 = fs.String("argv0", "", "the program's argv[0] (default: the base name of PROGRAM.wasm)")
	rf.traceFile = fs.String("trace", "", "record every core's scheduling events and write them to FILE at exit (and on SIGINT/SIGTERM), in Perfetto's format (read it with isle trace FILE, or open it at ui.perfetto.dev)")
	rf.control = fs.String("control", "", "serve a control socket at PATH (a unix socket) while the machine runs, for isle top PATH")
	rf.metrics = fs.String("metrics", "", "serve Prometheus metrics at http://ADDR/metrics (host:port) while the machine runs")
	rf.traceCalls = fs.Bool("trace-calls", false, "with --trace, record every system call too (drawn as slices on each SIP's track; two clock reads a call)")
	rf.traceEvents = fs.Int("trace-events", 0, "events each core's trace ring holds (default 65536); the oldest are dropped, and counted, past it")
	return rf
}

// config checks the flags and returns the machine's configuration, or the
// exit status after printing what is wrong.
func (rf *runFlags) config(stdout, stderr io.Writer) (isle.Config, int) {
	var none isle.Config
	usage := func(format string, a ...any) (isle.Config, int) {
		fmt.Fprintf(stderr, "isle run: "+format+"\n", a...)
		return none, exitUsage
	}
	switch {
	case rf.set["cores"] && *rf.cores < 1:
		return usage("--cores %d: a machine needs at least one core", *rf.cores)
	case *rf.instances < 1 || *rf.instances > isle.MaxInstances:
		return usage("--instances %d: want 1 to %d", *rf.instances, isle.MaxInstances)
	case *rf.cores > isle.MaxCores:
		return usage("--cores %d: at most %d cores", *rf.cores, isle.MaxCores)
	case *rf.wasted <= 0:
		return usage("--wasted-bound %v: must be positive", *rf.wasted)
	case rf.set["trace-events"] && (*rf.traceEvents < 1 || *rf.traceEvents > isle.MaxTraceEvents):
		return usage("--trace-events %d: want between 1 and %d", *rf.traceEvents, isle.MaxTraceEvents)
	}
	cfg := isle.NewConfig().WithStdio(os.Stdin, stdout, stderr).WithCores(*rf.cores).WithOversubscribe(*rf.over).
		WithCacheDir(*rf.cacheDir).WithWastedBound(*rf.wasted).WithInstances(*rf.instances)
	if *rf.capacities != "" {
		for _, kv := range strings.Split(*rf.capacities, ",") {
			k, v, ok := strings.Cut(kv, "=")
			core, err1 := strconv.Atoi(k)
			capacity, err2 := strconv.ParseInt(v, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				return usage("--core-capacity %q: want CORE=CAP,... (e.g. 1=512)", *rf.capacities)
			}
			cfg = cfg.WithCoreCapacity(core, capacity)
		}
	}
	var preopens []isle.Dir
	for _, d := range rf.dirs {
		dir, err := isle.ParseDir(d)
		if err != nil {
			return usage("%v", err)
		}
		cfg = cfg.WithDir(dir)
		preopens = append(preopens, dir)
	}
	for _, l := range rf.listens {
		// An empty address would listen on a random port of every
		// interface; a taken or unknown one fails at boot, in one line.
		if _, port, err := net.SplitHostPort(l); err != nil || port == "" {
			return usage("--listen %q: want HOST:PORT (e.g. 127.0.0.1:8080)", l)
		}
		cfg = cfg.WithListen(l)
	}
	cfg, ok := withProgramEnv(cfg, rf.envs, *rf.envInherit, preopens, *rf.argv0, rf.set["argv0"], stderr)
	if !ok {
		return none, exitUsage
	}
	if cfg, ok = budgetFlags(cfg, *rf.memLimit, *rf.machineMem, *rf.maxProcs, stderr); !ok {
		return none, exitUsage
	}
	if rf.set["tables"] {
		tc, err := isle.ParseTables(*rf.tablesFlag)
		if err != nil {
			return usage("--tables: %v", err)
		}
		cfg = cfg.WithTables(tc)
	}
	return cfg, 0
}

// runProgram runs prog on a machine of cfg until it ends or a signal stops
// the machine, reports its end, and returns isle's exit status.
func runProgram(cfg isle.Config, prog string, args []string, stats, tables bool, stderr io.Writer) int {
	// SIGINT and SIGTERM stop the machine (every SIP is killed within a
	// slice, even one spinning without system calls) and isle exits as a
	// shell expects of a command killed by them: 130 or 143.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	// A write to a closed stdout or stderr (`isle run prog | head -1`) must
	// fail with EPIPE, which the console service hands the program as
	// WASI's EPIPE, as wasmtime does: without a handler, Go's runtime
	// kills the process with SIGPIPE (exit 141) for writes to fds 1 and 2.
	// A channel nobody reads is enough: Notify never blocks on it.
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, syscall.SIGPIPE)
	defer signal.Stop(pipes)
	var caught atomic.Int32
	go func() {
		select {
		case sig := <-sigs:
			caught.Store(int32(sig.(syscall.Signal)))
			cancel()
		case <-ctx.Done():
		}
	}()
	st, cs, procs, err := isle.RunListing(ctx, cfg, prog, args)
	if err != nil {
		fmt.Fprintf(stderr, "isle: %s\n", flagError(err))
		return exitError
	}
	if st.Link != "" {
		// Not a trap: the module could not be instantiated, so it never
		// ran; an error of isle's, as a module that does not load is.
		fmt.Fprintf(stderr, "isle: %s: %s\n", prog, st.Link)
	}
	printTrap(stderr, prog, st)
	if sig := caught.Load(); sig != 0 {
		fmt.Fprintf(stderr, "isle: %v: machine stopped\n", syscall.Signal(sig))
		if stats {
			printStats(stderr, cs)
		}
		return 128 + int(sig)
	}
	if stats {
		printStats(stderr, cs)
		if tables {
			fmt.Fprintf(stderr, "isle: process table: %d processes\n", len(procs))
			for _, p := range procs {
				fmt.Fprintf(stderr, "pid %d: %s core=%d parent=%d state=%v status=%d\n", p.PID, p.Name, p.Core, p.Parent, p.State, p.Status)
			}
		}
	}
	return st.Status()
}

// withProgramEnv gives cfg the program's environment (--env, checked, and
// --env-inherit) and its argv[0] (--argv0, when set); it returns false
// after printing what is wrong.
func withProgramEnv(cfg isle.Config, envs []string, inherit bool, preopens []isle.Dir, argv0 string, argv0Set bool, stderr io.Writer) (isle.Config, bool) {
	for _, e := range envs {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			fmt.Fprintf(stderr, "isle run: --env %q: want KEY=VALUE\n", e)
			return cfg, false
		}
	}
	var inherited []string
	if inherit {
		inherited = os.Environ()
		if wd, err := os.Getwd(); err == nil {
			inherited = guestPWD(inherited, wd, preopens)
		}
	}
	for _, e := range mergeEnv(inherited, envs) {
		cfg = cfg.WithEnv(e)
	}
	if argv0Set {
		if argv0 == "" {
			fmt.Fprintln(stderr, "isle run: --argv0: empty name")
			return cfg, false
		}
		cfg = cfg.WithArgv0(argv0)
	}
	return cfg, true
}

// guestPWD rewrites the inherited PWD, a host path, as the program names
// the same directory: wd (isle's working directory) under the preopen whose
// host directory holds it most closely, with that preopen's guest name in
// place of the host's prefix. `isle run --dir . --env-inherit` so gives
// the program PWD=/, and Go's runtime, which takes its working directory
// from PWD, finds its files by relative paths. When no preopen with an
// absolute guest name holds wd, PWD is left as it was.
func guestPWD(env []string, wd string, preopens []isle.Dir) []string {
	best, guest := -1, ""
	for _, d := range preopens {
		host, err := filepath.Abs(d.Host)
		name := d.GuestName()
		if err != nil || !strings.HasPrefix(name, "/") {
			continue
		}
		rel, err := filepath.Rel(host, wd)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || len(host) <= best {
			continue
		}
		best, guest = len(host), filepath.Join(name, rel)
	}
	if best < 0 {
		return env
	}
	out := make([]string, 0, len(env))
	for _, e := range env {
		if !strings.HasPrefix(e, "PWD=") {
			out = append(out, e)
		}
	}
	return append(out, "PWD="+guest)
}

// mergeEnv returns the program's environment: the inherited variables
// (--env-inherit) without those that set (--env) names, then set, in order.
// A program sees each variable once: Go's runtime keeps the first of two
// definitions and wasi-libc's getenv finds the first, so an override placed
// after an inherited one would be ignored.
func mergeEnv(inherited, set []string) []string {
	names := map[string]bool{}
	for _, e := range set {
		k, _, _ := strings.Cut(e, "=")
		names[k] = true
	}
	var out []string
	for _, e := range inherited {
		if k, _, _ := strings.Cut(e, "="); !names[k] {
			out = append(out, e)
		}
	}
	return append(out, set...)
}

// printTrap reports a trap: one line `isle: PROGRAM: trap: REASON`, then
// the guest's stack, innermost frame first, as wazero's "wasm stack trace".
func printTrap(w io.Writer, prog string, st isle.ExitStatus) {
	if st.Trap == "" {
		return
	}
	fmt.Fprintf(w, "isle: %s: trap: %s\n", prog, st.Trap)
	if st.Stack != "" {
		fmt.Fprintf(w, "wasm stack trace:\n\t%s\n", strings.ReplaceAll(st.Stack, "\n", "\n\t"))
	}
}

func printStats(w io.Writer, cs []isle.CoreStats) {
	host := isle.HostCPUs()
	if len(cs) > host {
		fmt.Fprintf(w, "isle: %d cores on %d host CPUs (oversubscribed)\n", len(cs), host)
	}
	for _, c := range cs {
		cpus := make([]string, len(c.CPUs))
		for i, n := range c.CPUs {
			cpus[i] = fmt.Sprint(n)
		}
		fmt.Fprintf(w, "core %d: capacity=%d cpus=%s moves=%d sips=%d switches=%d direct=%d preempted=%d migrated-in=%d migrated-out=%d steals=%d wasted=%d sent=%d recv=%d sleeps=%d service-requests=%d\n",
			c.Core, c.Capacity, strings.Join(cpus, ","), c.Moves, c.SIPs, c.Switches, c.DirectSwitches, c.Preemptions,
			c.MigratedIn, c.MigratedOut, c.StealsAsked, c.WastedIntervals, c.MsgsSent, c.MsgsRecv, c.Sleeps, c.ServiceRequests)
	}
}

// defaultCacheDir is where compiled code is kept between runs, as wazero's
// command line does with -cachedir; empty when there is no cache directory.
func defaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "isle", "wazero")
}

// budgetFlags applies --memory-limit, --machine-memory and --max-procs to
// cfg, reporting a bad value in one line.
func budgetFlags(cfg isle.Config, memLimit, machineMem string, maxProcs int, stderr io.Writer) (isle.Config, bool) {
	n, err := isle.ParseSize(memLimit)
	if err != nil || n < 64<<10 || n > isle.DefaultMemoryLimit {
		fmt.Fprintf(stderr, "isle run: --memory-limit %s: want a size between 64K and 4G (e.g. 512M)\n", memLimit)
		return cfg, false
	}
	cfg = cfg.WithMemoryLimit(n)
	if machineMem != "" {
		n, err := isle.ParseSize(machineMem)
		if err != nil || n < 64<<10 {
			fmt.Fprintf(stderr, "isle run: --machine-memory %s: want a size of at least 64K (e.g. 8G)\n", machineMem)
			return cfg, false
		}
		cfg = cfg.WithMachineMemory(n)
	}
	if maxProcs < 1 {
		fmt.Fprintf(stderr, "isle run: --max-procs %d: must be at least 1\n", maxProcs)
		return cfg, false
	}
	return cfg.WithMaxDescendants(maxProcs), true
}

// flagError is err's one line, a refused configuration named by the flags
// of isle run that set it (isle.ConfigError names the Config options).
func flagError(err error) string {
	var ce *isle.ConfigError
	if errors.As(err, &ce) {
		return ce.Text(flagOf)
	}
	return err.Error()
}

// flagOf returns the flag of isle run that sets a Config option.
func flagOf(option string) string {
	switch option {
	case "WithCores":
		return "--cores"
	case "WithOversubscribe":
		return "--oversubscribe"
	case "WithDir":
		return "--dir"
	case "WithListen":
		return "--listen"
	case "WithCoreCapacity":
		return "--core-capacity"
	case "WithTables":
		return "--tables"
	case "WithMemoryLimit":
		return "--memory-limit"
	case "WithMachineMemory":
		return "--machine-memory"
	case "WithMaxDescendants":
		return "--max-procs"
	case "WithTrace":
		return "--trace-events"
	case "WithCacheDir":
		return "--cache-dir"
	}
	return option
}
