package wasi

// Paths with many ".." components.
//
// The file-system service resolves every path with os.Root, which bounds
// the work one path may cost: it gives up with ENAMETOOLONG when a walk
// takes more than 255 steps *and* more than 8 restarts (each run of ".."
// restarts it from the root). A path such as "sub/../" × 200 + "f" is far
// shorter than PATH_MAX, and Linux resolves it (or answers ENOENT when a
// component is missing); os.Root refuses it. So a path with more than 8
// runs of ".." is first reduced here: each "dir/.." whose dir is a real
// directory (checked with a stat that does not follow a final symlink, once
// per prefix) is removed, as the kernel would resolve it. A component that
// is missing or not a directory gets the stat's answer (ENOENT, ENOTDIR), as
// Linux's walk does; a ".." above the directory fd is EPERM, isle's answer
// to every escape; a symlink before a ".." stops the reduction (its ".."
// leads to the target's parent) and os.Root decides. Nothing is touched:
// the reduced path is resolved by os.Root like any other, so it cannot
// leave the root, and if a directory is swapped for a symlink between the
// stat and the call, the result is the one the path had before the swap.

import (
	"strings"

	"isle/internal/kernel"
	"isle/internal/service"
)

const (
	// maxRootRestarts is os.Root's bound on runs of "..": a path with no more
	// is left as it is.
	maxRootRestarts = 8
	// maxDotDotStats bounds the stats one reduction may make; past it the
	// path is left to os.Root.
	maxDotDotStats = 64

	filetypeSymlink = 7
)

// dotDotRuns counts the runs of ".." components in path.
func dotDotRuns(path string) int {
	runs, prev := 0, false
	for c := range strings.SplitSeq(path, "/") {
		dd := c == ".."
		if dd && !prev {
			runs++
		}
		prev = dd
	}
	return runs
}

// reducePath returns path with its "dir/.." pairs removed when it has more
// runs of ".." than os.Root accepts (see the top of this file), resolving
// it relative to directory entry e.
func (p *Proc) reducePath(s *kernel.SIP, e *fdEntry, path string) (string, Errno) {
	if dotDotRuns(path) <= maxRootRestarts {
		return path, ESUCCESS
	}
	var out []string
	checked := map[string]bool{}
	stats := 0
	for c := range strings.SplitSeq(path, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			if len(out) == 0 {
				return "", EPERM
			}
			prefix := strings.Join(out, "/")
			if !checked[prefix] {
				if stats++; stats > maxDotDotStats {
					return path, ESUCCESS
				}
				typ, errno := p.lstatType(s, e, prefix)
				switch {
				case errno != ESUCCESS:
					return "", errno
				case typ == filetypeSymlink:
					return path, ESUCCESS
				case typ != filetypeDirectory:
					return "", ENOTDIR
				}
				checked[prefix] = true
			}
			out = out[:len(out)-1]
		default:
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return ".", ESUCCESS
	}
	r := strings.Join(out, "/")
	if strings.HasSuffix(path, "/") {
		r += "/" // "dir/" must name a directory
	}
	return r, ESUCCESS
}

// lstatType returns the WASI file type of path under e, not following a
// final symlink.
func (p *Proc) lstatType(s *kernel.SIP, e *fdEntry, path string) (uint8, Errno) {
	req := s.Request()
	req.Op = service.FSPathStat
	req.Fd = e.handle
	req.Str = path
	req.Off = 0
	rep := p.fsCall(s)
	if rep.Errno != 0 {
		return 0, Errno(rep.Errno)
	}
	if len(rep.Buf) < service.FilestatSize {
		return 0, EIO
	}
	return rep.Buf[16], ESUCCESS
}
