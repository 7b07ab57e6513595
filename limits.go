package isle

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"isle/internal/procapi"
)

// A machine's budgets, so that no program, however hostile, takes the host
// down (docs/processes.md, "Budgets"):
//
//   - each SIP's linear memory is capped (WithMemoryLimit; default 4 GiB, the
//     most a wasm32 memory can have);
//   - the sum of every SIP's linear memory is capped (WithMachineMemory;
//     default half of the host's memory, or of the cgroup's limit when it is
//     lower);
//   - the live SIPs below the root of each SIP tree are capped
//     (WithMaxDescendants; default 4096).
//
// A memory.grow past either memory cap returns -1 in the SIP that asked (the
// guest sees malloc return NULL, or Go's runtime report out of memory); a
// spawn past the descendants' cap fails with EAGAIN.
const (
	DefaultMemoryLimit    = 4 << 30 // bytes of one SIP's linear memory
	DefaultMaxDescendants = procapi.DefaultMaxDescendants
	wasmPage              = 64 << 10
	// defaultMachineShare: the machine budget's default is host memory / this.
	defaultMachineShare = 2
)

// WithMemoryLimit caps each SIP's linear memory at n bytes (rounded down to
// whole 64 KiB pages; at most 4 GiB). 0 restores the default, 4 GiB.
func (c Config) WithMemoryLimit(n uint64) Config { c.memoryLimit = n; return c }

// WithMachineMemory caps the sum of every SIP's linear memory at n bytes. 0
// restores the default: half of the host's memory (MemTotal), or of the
// memory limit of isle's cgroup when that is lower. The budget is the
// machine's: an embedder that runs several machines at once should share
// the host's memory out between them.
func (c Config) WithMachineMemory(n uint64) Config { c.machineMemory = n; return c }

// WithMaxDescendants caps the live SIPs below the root of each SIP tree (a
// SIP the embedder spawned and all it spawns, and they spawn, …) at n; a
// spawn past it fails with EAGAIN. 0 restores the default, 4096.
func (c Config) WithMaxDescendants(n int) Config { c.maxDescendants = n; return c }

// budgets are a Config's limits with the defaults filled in.
type budgets struct {
	memoryPages    uint32 // per SIP, in 64 KiB pages
	machineMemory  uint64 // bytes
	maxDescendants int
}

// budgets checks c's limits and fills in the defaults; hostMemory is what
// defaultMachineMemory returns for this host.
func (c Config) budgets(hostMemory uint64) (budgets, error) {
	b := budgets{memoryPages: DefaultMemoryLimit / wasmPage, machineMemory: c.machineMemory, maxDescendants: c.maxDescendants}
	if c.memoryLimit != 0 {
		if c.memoryLimit < wasmPage || c.memoryLimit > DefaultMemoryLimit {
			return b, configErr("WithMemoryLimit", FormatSize(c.memoryLimit), "must be between 64K and 4G (a wasm32 memory's largest)")
		}
		b.memoryPages = uint32(c.memoryLimit / wasmPage)
	}
	if b.machineMemory == 0 {
		b.machineMemory = hostMemory / defaultMachineShare
		if hostMemory == 0 { // unknown: one SIP's default
			b.machineMemory = DefaultMemoryLimit
		}
	}
	if b.machineMemory < wasmPage {
		return b, configErr("WithMachineMemory", FormatSize(b.machineMemory), "must be at least 64K")
	}
	if b.maxDescendants < 0 {
		return b, configErr("WithMaxDescendants", fmt.Sprint(b.maxDescendants), "must be at least 1")
	}
	if b.maxDescendants == 0 {
		b.maxDescendants = DefaultMaxDescendants
	}
	return b, nil
}

// ParseSize parses a size in bytes: a number with an optional suffix K, M, G
// or T (powers of 1024, as in 512M or 4G; a trailing B or iB is allowed).
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	shift := 0
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		case 'T':
			shift = 40
		}
		if shift != 0 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n > (1<<63)>>shift {
		return 0, fmt.Errorf("%q is not a size (want a number of bytes, e.g. 512M or 4G)", s)
	}
	return n << shift, nil
}

// FormatSize writes n bytes as ParseSize reads them, in the largest unit
// that divides it.
func FormatSize(n uint64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "T"}, {30, "G"}, {20, "M"}, {10, "K"}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatUint(n>>u.shift, 10) + u.name
		}
	}
	return strconv.FormatUint(n, 10)
}

// hostMemory returns the memory isle may use on this host: MemTotal from
// /proc/meminfo, or the limit of its cgroup (v2 memory.max, or v1's
// memory.limit_in_bytes) when that is lower; 0 if none can be read.
func hostMemory() uint64 {
	meminfo, _ := os.ReadFile("/proc/meminfo")
	cg, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		cg, _ = os.ReadFile("/sys/fs/cgroup/memory/memory.limit_in_bytes")
	}
	return memoryOf(meminfo, cg)
}

// memoryOf is hostMemory's decision: the smaller of meminfo's MemTotal and a
// cgroup limit ("max" or an unreadable one is no limit).
func memoryOf(meminfo, cgroupLimit []byte) uint64 {
	var total uint64
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err == nil {
				total = kb << 10
			}
			break
		}
	}
	if lim, err := strconv.ParseUint(strings.TrimSpace(string(cgroupLimit)), 10, 64); err == nil && lim > 0 && (total == 0 || lim < total) {
		total = lim
	}
	return total
}
