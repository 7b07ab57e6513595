package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
)

// Errors a group's callers see. Those of the state machine (ErrExists,
// ErrNotFound, ErrNotOwner) are decided by a committed entry, the same on
// every node.
var (
	ErrExists     = errors.New("cluster: name already registered")
	ErrNotFound   = errors.New("cluster: name not registered")
	ErrNotOwner   = errors.New("cluster: name registered by another node")
	ErrInvalid    = errors.New("cluster: invalid request")
	ErrTimeout    = errors.New("cluster: no answer before the deadline (is a majority of the cluster reachable?)")
	ErrNoQuorum   = errors.New("cluster: join: no quorum admitted this node before the deadline (is a majority of the cluster up?)")
	ErrRefused    = errors.New("cluster: join refused")
	ErrRemoved    = errors.New("cluster: this node was removed from the cluster")
	ErrStopped    = errors.New("cluster: group stopped")
	ErrBusy       = errors.New("cluster: too many requests waiting")
	ErrCorruptLog = errors.New("cluster: raft log is corrupt")
)

// Name is a name's entry in the cluster-wide name table: the node whose
// machine registered it, the endpoint (listener) it gave there, and the
// contract it speaks. Immutable once stored.
type Name struct {
	Node     uint64 `json:"node"`
	Endpoint uint64 `json:"endpoint"`
	Contract string `json:"contract"`
	// Source is the contract's normalised source (with every contract its
	// endpoint fields name), which another node's gateway compiles to carry
	// channels to the name; "" for a name that is not reachable remotely.
	Source string `json:"source,omitempty"`
}

// State is the replicated state machine: what every node of the cluster
// agrees on, entry by entry. It is a pure value: apply and applyMember take a
// committed entry and return what it decided; they read no clock and do no
// I/O. Owned by its group's loop.
type State struct {
	Members map[uint64]string `json:"members"` // node id -> peer address
	Removed map[uint64]bool   `json:"removed"` // ids removed once; never reused
	Names   map[string]Name   `json:"names"`
	// Done records the outcome of each request applied in the last
	// DedupWindow entries, so that a proposal retried after its first copy
	// committed is answered, not applied twice. Pruned by log index, the
	// same on every node.
	Done map[uint64]done `json:"done"`
}

type done struct {
	Index uint64 `json:"i"`
	Code  string `json:"c,omitempty"` // "" (applied), or an outcome code
	Msg   string `json:"m,omitempty"` // ErrInvalid's detail
}

// DedupWindow is how many log entries a request id is remembered for.
const DedupWindow = 10000

func newState() *State {
	return &State{Members: map[uint64]string{}, Removed: map[uint64]bool{}, Names: map[string]Name{}, Done: map[uint64]done{}}
}

// Operations of a command entry.
const (
	opRegister   = "register"
	opUnregister = "unregister"
	// opExpire drops every name of Val.Node: proposed by the leader only
	// (a follower's forwarded copy is refused, Group.ownProposal) for a
	// node it has not heard from for Config.NameExpiry.
	opExpire = "expire"
)

// command is the data of a normal log entry. Req and By name the request
// (a random id, the proposing node) so that the proposer's wait finds its
// answer; they change nothing in the state.
type command struct {
	Op   string `json:"op"`
	Req  uint64 `json:"req"`
	By   uint64 `json:"by"`
	Name string `json:"name"`
	Val  Name   `json:"val"`
}

// memberContext is the Context of a conf-change entry.
type memberContext struct {
	Addr string `json:"addr"`
	Req  uint64 `json:"req"`
	By   uint64 `json:"by"`
}

func validName(name string, v Name) error {
	switch {
	case name == "" || len(name) > MaxName:
		return fmt.Errorf("%w: a name has 1 to %d bytes", ErrInvalid, MaxName)
	case len(v.Contract) > MaxContract:
		return fmt.Errorf("%w: a contract name has at most %d bytes", ErrInvalid, MaxContract)
	case len(v.Source) > MaxContractSource:
		return fmt.Errorf("%w: a contract's source has at most %d bytes", ErrInvalid, MaxContractSource)
	case v.Node == 0:
		return fmt.Errorf("%w: node id 0", ErrInvalid)
	}
	return nil
}

func validAddr(addr string) error {
	if addr == "" || len(addr) > MaxAddr {
		return fmt.Errorf("%w: a peer address has 1 to %d bytes", ErrInvalid, MaxAddr)
	}
	return nil
}

// applyOnce applies the command of entry index unless its request was
// applied before, in which case it returns that first outcome.
func (s *State) applyOnce(c command, index uint64) error {
	if d, ok := s.Done[c.Req]; ok && c.Req != 0 {
		return d.err()
	}
	err := s.apply(c)
	if c.Req != 0 {
		s.Done[c.Req] = doneOf(index, err)
	}
	if index%1024 == 0 {
		for req, d := range s.Done {
			if d.Index+DedupWindow < index {
				delete(s.Done, req)
			}
		}
	}
	return err
}

var outcomes = []error{ErrExists, ErrNotFound, ErrNotOwner}

func doneOf(index uint64, err error) done {
	d := done{Index: index}
	if err == nil {
		return d
	}
	for _, o := range outcomes {
		if errors.Is(err, o) {
			d.Code = o.Error()
			return d
		}
	}
	d.Code, d.Msg = "invalid", err.Error()
	return d
}

func (d done) err() error {
	if d.Code == "" {
		return nil
	}
	for _, o := range outcomes {
		if d.Code == o.Error() {
			return o
		}
	}
	return fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(d.Msg, ErrInvalid.Error()+": "))
}

// apply applies one command and returns its outcome (nil: done). A node
// acts for itself only: the name's node is the proposer (which the leader
// checked against the transport's sender: Group.step).
func (s *State) apply(c command) error {
	if c.Op == opExpire {
		s.dropNames(c.Val.Node)
		return nil
	}
	if c.Val.Node != c.By {
		return fmt.Errorf("%w: node %d cannot act for node %d", ErrInvalid, c.By, c.Val.Node)
	}
	if c.Op == opUnregister {
		v, ok := s.Names[c.Name]
		switch {
		case !ok:
			return ErrNotFound
		case v.Node != c.Val.Node:
			return ErrNotOwner
		}
		delete(s.Names, c.Name)
		return nil
	}
	if c.Op != opRegister {
		return fmt.Errorf("%w: unknown operation %q", ErrInvalid, c.Op)
	}
	if err := validName(c.Name, c.Val); err != nil {
		return err
	}
	if _, ok := s.Names[c.Name]; ok {
		return ErrExists
	}
	if _, ok := s.Members[c.Val.Node]; !ok {
		return fmt.Errorf("%w: node %d is not a member", ErrInvalid, c.Val.Node)
	}
	s.Names[c.Name] = c.Val
	return nil
}

// admit decides whether a committed conf change may take effect: an id once
// removed is never added again (its old log and messages must stay out), and
// an add needs a valid address.
func (s *State) admit(add bool, id uint64, addr string) error {
	if id == 0 {
		return fmt.Errorf("%w: node id 0", ErrInvalid)
	}
	if s.Removed[id] {
		return fmt.Errorf("%w: node id %d was removed from this cluster; a removed id is never reused", ErrRefused, id)
	}
	if add {
		if err := validAddr(addr); err != nil {
			return err
		}
		if old, ok := s.Members[id]; ok && old != addr {
			return fmt.Errorf("%w: duplicate node id %d (a member at %s)", ErrRefused, id, old)
		}
	} else if _, ok := s.Members[id]; !ok {
		return fmt.Errorf("%w: node %d is not a member", ErrInvalid, id)
	}
	return nil
}

// applyMember records an admitted conf change. Removing a node drops the
// names it registered: their endpoints lived on its machine.
func (s *State) applyMember(add bool, id uint64, addr string) {
	if add {
		s.Members[id] = addr
		return
	}
	delete(s.Members, id)
	s.Removed[id] = true
	s.dropNames(id)
}

// dropNames removes every name that node registered.
func (s *State) dropNames(node uint64) {
	for name, v := range s.Names {
		if v.Node == node {
			delete(s.Names, name)
		}
	}
}

func (s *State) marshal() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("cluster: encoding the state machine: %v", err)) // maps of plain values always encode
	}
	return b
}

func unmarshalState(b []byte) (*State, error) {
	s := newState()
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", ErrCorruptLog, err)
	}
	if s.Members == nil {
		s.Members = map[uint64]string{}
	}
	if s.Removed == nil {
		s.Removed = map[uint64]bool{}
	}
	if s.Names == nil {
		s.Names = map[string]Name{}
	}
	if s.Done == nil {
		s.Done = map[uint64]done{}
	}
	return s, nil
}

func (s *State) clone() *State {
	return &State{Members: maps.Clone(s.Members), Removed: maps.Clone(s.Removed), Names: maps.Clone(s.Names), Done: maps.Clone(s.Done)}
}
