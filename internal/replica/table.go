// Package replica holds isle's kernel tables (names, processes, quotas) in
// one of two forms, chosen per table when the machine boots:
//
//   - replicated (Node): a copy of the table on every core. Reads are local:
//     no message, no lock, no shared cache line. Writes go through two-phase
//     commit (2PC) with every other core; a write that conflicts with another
//     in-flight write aborts and its caller retries. The protocol is a pure
//     state machine in the style of etcd's raft library: messages and ticks
//     go in (Step, Tick), messages, decisions and applied writes come out
//     (Ready). It starts no goroutine, reads no clock and does no I/O; the
//     kernel loop moves its messages over urpc. See twopc.go.
//   - shared (Shared): one copy that every core reads and writes, behind a
//     writer lock with copy-on-write snapshots, so that reads take no lock.
//     See shared.go.
//
// Both implement Table, the interface the kernel uses.
//
// Keys are strings, values a type parameter V. Values are stored and handed
// out by assignment: a V that holds references (a slice, a map, a pointer)
// must be treated as immutable once written, because every replica, or
// every reader of a shared table, may hold the same underlying memory.
// Over a real transport the kernel encodes Op into its message; V is then
// best a small value type.
//
// The design record is docs/replica.md.
package replica

import "iter"

// CoreID names a core: an index in [0, cores).
type CoreID int

// Table is one core's view of a kernel table.
//
// Reads (Get, All, Len) are answered at once. Writes (Put, Delete) return a
// Result: a final outcome (Committed or Aborted) when it is known at once,
// or Pending, in which case a replicated table reports exactly one Decision
// for the write's transaction in a later Ready. A Pending write is not yet
// visible to reads.
type Table[V any] interface {
	// Get returns the value stored under key and whether there is one.
	Get(key string) (V, bool)
	// All yields every key and value, in no particular order. A shared table
	// yields one snapshot; a replicated one yields its local replica, which
	// must not be written during the iteration (the core owns it).
	All() iter.Seq2[string, V]
	// Len returns the number of keys.
	Len() int
	// Put stores v under key.
	Put(key string, v V) Result
	// Delete removes key; deleting an absent key commits and changes nothing.
	Delete(key string) Result
}

// OpKind is the kind of a write.
type OpKind uint8

// The kinds of writes.
const (
	OpPut OpKind = iota + 1
	OpDelete
)

func (k OpKind) String() string {
	switch k {
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	}
	return "op?"
}

// Op is one write to one key: the unit of a transaction.
type Op[V any] struct {
	Kind  OpKind
	Key   string
	Value V // only for OpPut
}

// apply performs op on m.
func (op Op[V]) apply(m map[string]V) {
	switch op.Kind {
	case OpPut:
		m[op.Key] = op.Value
	case OpDelete:
		delete(m, op.Key)
	default:
		panic("replica: bad op kind")
	}
}

// TxID names a transaction: the coordinating core and a sequence number
// that core assigns, starting at 1, in increasing order.
type TxID struct {
	Core CoreID
	Seq  uint64
}

// Outcome is how a transaction ended, or that it has not ended yet.
type Outcome uint8

// The outcomes.
const (
	Pending Outcome = iota
	Committed
	Aborted
)

func (o Outcome) String() string {
	switch o {
	case Pending:
		return "pending"
	case Committed:
		return "committed"
	case Aborted:
		return "aborted"
	}
	return "outcome?"
}

// Result is what a write returns at once. If Outcome is Pending, the final
// outcome comes later as a Decision with the same Tx (replicated tables).
type Result struct {
	Tx      TxID
	Outcome Outcome
	Reason  Reason // why, when Outcome is final
}

// Reason says why a transaction ended as it did.
type Reason uint8

// The reasons.
const (
	ReasonNone     Reason = iota
	ReasonAllYes          // every replica voted yes (or there was no other replica)
	ReasonConflict        // the key was locked by another in-flight transaction, here or at a participant
	ReasonTimeout         // some participant did not vote within the prepare timeout
)

func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonAllYes:
		return "all-yes"
	case ReasonConflict:
		return "conflict"
	case ReasonTimeout:
		return "timeout"
	}
	return "reason?"
}

// Backoff suggests how many ticks a core should wait before retrying a write
// that aborted for the attempt-th time (attempt counts from 1). The retry
// policy is the caller's; this one is deterministic (no random source, so
// simulations replay): exponential in the attempt, capped at 64 ticks, and
// multiplied by core+1 so that two cores that collided retry at different
// times and the lower-numbered core usually goes first.
func Backoff(core CoreID, attempt int) int {
	if attempt < 1 {
		attempt = 1
	}
	shift := min(attempt-1, 6)
	return (1 << shift) * (int(core) + 1)
}
