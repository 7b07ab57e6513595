package isle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"isle/internal/procapi"
	"isle/internal/tables"
	"isle/internal/wasi"
)

// ConfigError is a Config that Boot refuses. Option is the Config method
// that set what is wrong ("WithCores"), Value what it was given ("" when
// Reason says it), and Hint, when not empty, another option that would
// allow it, with HintWhy saying what it would do. Error names the options;
// a command that offers them as flags names its flags instead (Text).
type ConfigError struct {
	Option  string
	Value   string
	Reason  string
	Hint    string
	HintWhy string
}

func (e *ConfigError) Error() string { return e.Text(func(option string) string { return option }) }

// Text is the error's one line with each option named by name(option): a
// command passes its flag's name ("WithCores" becomes "--cores").
func (e *ConfigError) Text(name func(option string) string) string {
	s := name(e.Option)
	if e.Value != "" {
		s += " " + e.Value
	}
	s += ": " + e.Reason
	if e.Hint != "" {
		s += " (add " + name(e.Hint) + " " + e.HintWhy + ")"
	}
	return s
}

func configErr(option, value, format string, a ...any) *ConfigError {
	return &ConfigError{Option: option, Value: value, Reason: fmt.Sprintf(format, a...)}
}

// plan is a Config checked whole before anything is made: what newMachine
// builds from. Every field is immutable once validate returns it.
type plan struct {
	cfg         Config
	host        int // the CPUs this process may use
	cores       int
	preopens    []wasi.Preopen
	lim         budgets
	traceEvents int               // the kernel's ring size; 0: off
	capacity    []int64           // per core; nil when every core is full
	nameKind    tables.Kind       // the name table's (shared unless --tables names=…)
	tables      *tables.Tables    // nil without WithTables; made by tables.New, which starts nothing
	procPre     []procapi.Preopen // the preopens as the process API passes them on
}

// validate checks every option of cfg, so that Boot fails before it has
// made anything (a runtime, a listener, a goroutine) for every error that
// does not depend on the host's state at the time (a port in use, a
// directory that cannot be opened).
func validate(cfg Config) (*plan, error) {
	p := &plan{cfg: cfg, host: HostCPUs()}
	var err error
	if p.cores, err = checkCores(cfg, p.host); err != nil {
		return nil, err
	}
	if p.preopens, err = checkDirs(cfg.dirs); err != nil {
		return nil, err
	}
	for _, o := range p.preopens {
		p.procPre = append(p.procPre, procapi.Preopen{Guest: o.Guest, Host: o.Host})
	}
	if err := checkCacheDir(cfg.cacheDir); err != nil {
		return nil, err
	}
	if p.lim, err = cfg.budgets(hostMemory()); err != nil {
		return nil, err
	}
	if p.traceEvents, err = cfg.traceRing(); err != nil {
		return nil, err
	}
	if p.capacity, err = checkCapacity(cfg.capacity, p.cores); err != nil {
		return nil, err
	}
	p.nameKind = tables.Shared
	if cfg.tables != nil {
		if k, ok := (*cfg.tables)[tables.Names]; ok {
			p.nameKind = k
		}
		if p.tables, err = tables.New(p.cores, *cfg.tables); err != nil {
			return nil, &ConfigError{Option: "WithTables", Reason: err.Error()}
		}
	}
	return p, nil
}

func checkCores(cfg Config, host int) (int, error) {
	cores := cfg.cores
	if cores == 0 {
		cores = host
	}
	v := fmt.Sprint(cores)
	switch {
	case cores < 1:
		return 0, configErr("WithCores", v, "a machine needs at least one core")
	case cores > MaxCores:
		return 0, configErr("WithCores", v, "at most %d cores", MaxCores)
	case cores > host && !cfg.oversubscribe:
		e := configErr("WithCores", v, "this process may use only %d CPUs", host)
		e.Hint, e.HintWhy = "WithOversubscribe", "to run more cores than CPUs"
		return 0, e
	}
	return cores, nil
}

func checkDirs(dirs []Dir) ([]wasi.Preopen, error) {
	var preopens []wasi.Preopen
	for _, d := range dirs {
		st, err := os.Stat(d.Host)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, configErr("WithDir", d.Host, "no such directory")
			}
			return nil, configErr("WithDir", d.Host, "%v", unwrapPathError(err))
		}
		if !st.IsDir() {
			return nil, configErr("WithDir", d.Host, "not a directory")
		}
		abs, err := filepath.Abs(d.Host)
		if err != nil {
			return nil, configErr("WithDir", d.Host, "%v", err)
		}
		preopens = append(preopens, wasi.Preopen{Guest: d.GuestName(), Host: abs, ReadOnly: d.ReadOnly})
	}
	return preopens, nil
}

func checkCapacity(caps map[int]int64, cores int) ([]int64, error) {
	var out []int64
	for core, capacity := range caps {
		if core < 0 || core >= cores {
			return nil, configErr("WithCoreCapacity", "", "no core %d on a %d-core machine", core, cores)
		}
		if capacity < 1 || capacity > 1024 {
			return nil, configErr("WithCoreCapacity", "", "core %d: capacity %d is not between 1 and 1024", core, capacity)
		}
		if out == nil {
			out = make([]int64, cores)
		}
		out[core] = capacity
	}
	return out, nil
}

// checkCacheDir refuses a compilation cache that is not a directory; one
// that does not exist yet is made by the runtime.
func checkCacheDir(dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return configErr("WithCacheDir", dir, "%v", unwrapPathError(err))
	case !st.IsDir():
		return configErr("WithCacheDir", dir, "not a directory")
	}
	return nil
}
