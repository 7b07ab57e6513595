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
// to every escape; a symlink before a ".." is read and replaced by its
// target (its ".." leads to the target's parent), see reducePath. Nothing is touched:
// the reduced path is resolved by os.Root like any other, so it cannot
// leave the root, and if a directory is swapped for a symlink between the
// stat and the call, the result is the one the path had before the swap.

import (
	"strings"

	"isle/internal/kernel"
	"isle/internal/service"
	"isle/internal/wasip1"
)

const (
	// maxRootRestarts is os.Root's bound on runs of "..": a path with no more
	// is left as it is.
	maxRootRestarts = 8
	// maxDotDotStats bounds the stats one reduction may make; past it the
	// path is left to os.Root.
	maxDotDotStats = 64
	// maxSymlinks bounds the symlinks one reduction expands (Linux's
	// MAXSYMLINKS); past it the path is ELOOP.
	maxSymlinks = 40
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
//
// A symlink before a ".." is read and its target put in its place, as the
// kernel's walk does: "ln/.." names the target's parent. A relative target
// is resolved like the rest of the path, so it too stays under e (os.Root
// resolves the result); an absolute one leaves the preopen, which is EPERM
// as every escape; more than maxSymlinks expansions is ELOOP, as Linux's
// MAXSYMLINKS (40).
func (p *Proc) reducePath(s *kernel.SIP, e *fdEntry, path string) (string, Errno) {
	if dotDotRuns(path) <= maxRootRestarts {
		return path, ESUCCESS
	}
	r := reduction{checked: map[string]bool{}}
	for links := 0; ; links++ {
		out, link, rest, errno := p.reduceOnce(s, e, path, &r)
		if errno != ESUCCESS || link == "" {
			return out, errno
		}
		if r.stats > maxDotDotStats {
			return path, ESUCCESS
		}
		if links == maxSymlinks {
			return "", ELOOP
		}
		target, errno := p.readlink(s, e, link)
		if errno != ESUCCESS {
			return "", errno
		}
		if strings.HasPrefix(target, "/") {
			return "", EPERM
		}
		// The link's directory, then the target, then what followed the link.
		dir := ""
		if i := strings.LastIndexByte(link, '/'); i >= 0 {
			dir = link[:i+1]
		}
		path = dir + target + "/" + rest
		r.checked = map[string]bool{} // the prefixes are new strings now
	}
}

// reduction is the state one reducePath carries across symlink expansions.
type reduction struct {
	checked map[string]bool // prefixes known to be directories
	stats   int
}

// reduceOnce removes path's "dir/.." pairs up to the first symlink found
// before a "..": then it returns the link's path and the rest of path from
// that ".." on, for reducePath to expand. Past maxDotDotStats it returns
// path unchanged, for os.Root to decide.
func (p *Proc) reduceOnce(s *kernel.SIP, e *fdEntry, path string, r *reduction) (out, link, rest string, errno Errno) {
	var kept []string
	comps := strings.Split(path, "/")
	for i, c := range comps {
		switch c {
		case "", ".":
			continue
		case "..":
			if len(kept) == 0 {
				return "", "", "", EPERM
			}
			prefix := strings.Join(kept, "/")
			if !r.checked[prefix] {
				if r.stats++; r.stats > maxDotDotStats {
					return path, "", "", ESUCCESS
				}
				typ, errno := p.lstatType(s, e, prefix)
				switch {
				case errno != ESUCCESS:
					return "", "", "", errno
				case typ == wasip1.FiletypeSymbolicLink:
					return "", prefix, strings.Join(comps[i:], "/"), ESUCCESS
				case typ != wasip1.FiletypeDirectory:
					return "", "", "", ENOTDIR
				}
				r.checked[prefix] = true
			}
			kept = kept[:len(kept)-1]
		default:
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return ".", "", "", ESUCCESS
	}
	out = strings.Join(kept, "/")
	if strings.HasSuffix(path, "/") {
		out += "/" // "dir/" must name a directory
	}
	return out, "", "", ESUCCESS
}

// pathCall asks the file-system service for op (an FSPathReq's) on path
// under e, not following a final symlink.
func (p *Proc) pathCall(s *kernel.SIP, e *fdEntry, op uint32, path string) (*kernel.Request, Errno) {
	service.FSPathReq{Op: op, Dir: e.handle, Path: path}.Put(s.Request())
	rep := p.fsCall(s)
	return rep, Errno(rep.Errno)
}

// readlink returns the target of the symlink at path under e.
func (p *Proc) readlink(s *kernel.SIP, e *fdEntry, path string) (string, Errno) {
	rep, errno := p.pathCall(s, e, service.FSReadlink, path)
	if errno != ESUCCESS {
		return "", errno
	}
	return string(rep.Buf), ESUCCESS
}

// lstatType returns the WASI file type of path under e, not following a
// final symlink.
func (p *Proc) lstatType(s *kernel.SIP, e *fdEntry, path string) (uint8, Errno) {
	rep, errno := p.pathCall(s, e, service.FSPathStat, path)
	if errno != ESUCCESS {
		return 0, errno
	}
	if len(rep.Buf) < wasip1.FilestatSize {
		return 0, EIO
	}
	return rep.Buf[16], ESUCCESS
}
