package contract

import (
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Compile checks f and, when it is clean, builds its runtime form. On any
// diagnostic it returns a nil Set and the diagnostics. f should come from
// ParseFile without syntax errors (CompileSource sees to that): the tree of
// a file with syntax errors holds only what could be read.
func Compile(f *File) (*Set, []Diagnostic) {
	if diags := Check(f); len(diags) > 0 {
		return nil, diags
	}
	set := &Set{contracts: make([]*Contract, len(f.Contracts))}
	byName := map[string]*Contract{}
	for i, cd := range f.Contracts {
		c := &Contract{name: cd.Name.Name}
		set.contracts[i] = c
		byName[c.name] = c
	}
	for i, cd := range f.Contracts {
		compileContract(set.contracts[i], cd, byName)
	}
	// Each contract's source is normalised and hashed once, and the set is
	// sorted by name once: a fingerprint combines digests in that order, so
	// a file of n contracts that each reach all the others costs n² cheap
	// steps, not n² normalisations and n sorts (a 75 KB file of 1,000
	// contracts in a ring took 2 s to compile when each was redone).
	fp := fingerprinter{index: make(map[*Contract]int, len(set.contracts))}
	fp.byName = slices.Clone(set.contracts)
	slices.SortFunc(fp.byName, func(a, b *Contract) int { return strings.Compare(a.name, b.name) })
	for i, c := range fp.byName {
		fp.index[c] = i
		fp.digests = append(fp.digests, sha256.Sum256([]byte(c.String())))
	}
	for _, c := range set.contracts {
		c.fingerprint = fp.fingerprint(c)
	}
	return set, nil
}

// CompileSource parses, checks and compiles src, read from the file called
// name.
func CompileSource(name string, src []byte) (*Set, []Diagnostic) {
	f, diags := ParseFile(name, src)
	if len(diags) > 0 {
		return nil, diags
	}
	return Compile(f)
}

// MustCompile compiles a contract source that is part of the program (a
// service's built-in contract) and panics if it has any problem.
func MustCompile(name, src string) *Set {
	set, diags := CompileSource(name, []byte(src))
	if len(diags) > 0 {
		var b strings.Builder
		for _, d := range diags {
			b.WriteString("\n\t")
			b.WriteString(d.String())
		}
		panic("contract: " + name + " does not compile:" + b.String())
	}
	return set
}

// CheckFiles reads, parses and checks each file, returning every file's
// diagnostics: files in the order given, each sorted by position. Each file
// is checked on its own (its contracts may refer only to each other). The
// error is for I/O only, such as a file that cannot be read; no
// diagnostics are returned with it.
func CheckFiles(paths []string) ([]Diagnostic, error) {
	var all []Diagnostic
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		_, diags := CheckSource(path, src)
		all = append(all, diags...)
	}
	return all, nil
}

// compileContract fills c from a checked declaration.
func compileContract(c *Contract, cd *ContractDecl, byName map[string]*Contract) {
	msgIDs := make(map[string]MsgID, len(cd.Msgs))
	c.msgs = make([]Message, len(cd.Msgs))
	for i, md := range cd.Msgs {
		m := &c.msgs[i]
		m.id, m.name, m.contract = MsgID(i), md.Name.Name, c
		msgIDs[m.name] = m.id
		m.fields = make([]Field, len(md.Fields))
		for j, fd := range md.Fields {
			f := Field{Name: fd.Name.Name}
			if fd.Type.Contract != nil {
				f.Kind = KindEndpoint
				f.Side = Importer
				if fd.Type.Name.Name == "exp" {
					f.Side = Exporter
				}
				f.Contract = byName[fd.Type.Contract.Name]
				m.minSize += 4
			} else {
				k, ok := scalarKind(fd.Type.Name.Name)
				if !ok {
					panic(fmt.Sprintf("contract: unchecked type %q", fd.Type.Name.Name))
				}
				f.Kind = k
				if k.Size() == 0 {
					m.minSize += 4 // the length word
				} else {
					m.minSize += k.Size()
				}
			}
			m.fields[j] = f
		}
	}

	stateIDs := make(map[string]StateID, len(cd.States))
	c.states = make([]state, len(cd.States))
	for i, sd := range cd.States {
		stateIDs[sd.Name.Name] = StateID(i)
		c.states[i] = state{name: sd.Name.Name, final: sd.Final}
		if sd.Initial {
			c.initial = StateID(i)
		}
	}
	c.next = make([]StateID, len(c.states)*len(c.msgs))
	for i := range c.next {
		c.next[i] = NoState
	}
	for i, sd := range cd.States {
		s := &c.states[i]
		for _, td := range sd.Transitions {
			s.sender = td.Side // never mixed: every transition has the same side
			t := Transition{Msg: msgIDs[td.Msg.Name], Next: stateIDs[td.Next.Name]}
			s.trans = append(s.trans, t)
			c.next[i*len(c.msgs)+int(t.Msg)] = t.Next
		}
	}
}

// fingerprinter computes the fingerprints of one Set's contracts.
type fingerprinter struct {
	byName  []*Contract       // the Set's contracts, sorted by name
	index   map[*Contract]int // index in byName
	digests [][32]byte        // SHA-256 of each one's String, by index
}

// fingerprint hashes the digest of c's normalised source, then the digest of
// each contract c reaches through endpoint fields (transitively), in name
// order; names are unique in a Set, so the order is well defined.
func (fp *fingerprinter) fingerprint(c *Contract) [32]byte {
	seen := make([]bool, len(fp.byName))
	self := fp.index[c]
	seen[self] = true
	work := []*Contract{c}
	for len(work) > 0 {
		x := work[len(work)-1]
		work = work[:len(work)-1]
		for i := range x.msgs {
			for _, f := range x.msgs[i].fields {
				if j, ok := fp.index[f.Contract]; f.Kind == KindEndpoint && ok && !seen[j] {
					seen[j] = true
					work = append(work, f.Contract)
				}
			}
		}
	}
	h := sha256.New()
	h.Write(fp.digests[self][:])
	for i, reached := range seen {
		if reached && i != self {
			h.Write(fp.digests[i][:])
		}
	}
	return [32]byte(h.Sum(nil))
}
