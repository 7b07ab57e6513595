package replica

// The vocabulary of the 2PC state machine (twopc.go): its messages, what it
// hands its caller (Ready) and its configuration.

import (
	"errors"
	"fmt"
)

// MsgType is the type of a 2PC message.
type MsgType uint8

// The messages: coordinator → participant (Prepare, Commit, Abort) and
// participant → coordinator (Vote, Ack, Query).
const (
	MsgPrepare MsgType = iota + 1
	MsgVote
	MsgCommit
	MsgAbort
	MsgAck
	MsgQuery
)

func (t MsgType) String() string {
	switch t {
	case MsgPrepare:
		return "prepare"
	case MsgVote:
		return "vote"
	case MsgCommit:
		return "commit"
	case MsgAbort:
		return "abort"
	case MsgAck:
		return "ack"
	case MsgQuery:
		return "query"
	}
	return "msg?"
}

// Message is one 2PC message. The transport delivers it to Node To by
// calling To's Step; it may drop, delay, duplicate or reorder messages, but
// must not alter them.
type Message[V any] struct {
	Type     MsgType
	From, To CoreID
	Tx       TxID
	Op       Op[V]  // Prepare only
	Yes      bool   // Vote only
	Horizon  uint64 // coordinator → participant: every Tx.Seq below it is over
	Timer    bool   // sent by Tick (a timeout's Abort, a re-sent Prepare or Commit, a query), not in answer to a step: for counts
}

func (m Message[V]) String() string {
	s := fmt.Sprintf("%d→%d %s tx=%d.%d", m.From, m.To, m.Type, m.Tx.Core, m.Tx.Seq)
	switch m.Type {
	case MsgPrepare:
		s += fmt.Sprintf(" %s %q", m.Op.Kind, m.Op.Key)
	case MsgVote:
		if m.Yes {
			s += " yes"
		} else {
			s += " no"
		}
	}
	return s
}

// Decision is the outcome of a transaction this node coordinated.
type Decision[V any] struct {
	Tx      TxID
	Op      Op[V]
	Outcome Outcome // Committed or Aborted
	Reason  Reason
	Ticks   int64 // ticks from Propose to the decision
}

// Applied is a write applied to this node's replica.
type Applied[V any] struct {
	Tx TxID
	Op Op[V]
}

// Ready is what a node hands its caller after Step, Tick or a write. The
// caller's duties, in this order, before calling Advance:
//
//  1. Messages: send each to its To core. Order between them does not
//     matter; batching them into one doorbell is encouraged. A message that
//     cannot be sent may be dropped (the protocol re-sends), never altered.
//  2. Decisions: hand each to the writer that made the write (one Decision
//     per write whose Result was Pending). An Aborted write did not happen
//     anywhere; the caller may retry it, e.g. after Backoff(core, attempt)
//     ticks. A Committed write is visible on this core already and on every
//     other live core once it has stepped the Commit.
//  3. Applied: the writes that became visible on this replica, in the order
//     they were applied (committed writes of every core, this one's
//     included). Nothing is required; it is there for traces and watchers.
//
// The slices belong to the node and are reused after Advance: copy what must
// outlive it.
type Ready[V any] struct {
	Messages  []Message[V]
	Decisions []Decision[V]
	Applied   []Applied[V]
}

// Config configures a Node. It is immutable after NewNode.
type Config struct {
	ID    CoreID // this core
	Cores int    // number of cores, each running one Node: IDs 0..Cores-1
	// PrepareTimeout is how many ticks a coordinator waits for every vote
	// before it aborts the round. Default 10.
	PrepareTimeout int64
	// ResendInterval is how many ticks pass between re-sends of Prepare to
	// participants that have not voted and of Commit to participants that
	// have not acked. Default 3.
	ResendInterval int64
	// QueryInterval is how many ticks a participant that voted Yes waits
	// before asking the coordinator for the decision, and between asks.
	// Default 5.
	QueryInterval int64
}

func (c *Config) setDefaults() error {
	if c.Cores < 1 {
		return errors.New("replica: Config.Cores must be at least 1")
	}
	if c.ID < 0 || int(c.ID) >= c.Cores {
		return fmt.Errorf("replica: Config.ID %d out of range [0,%d)", c.ID, c.Cores)
	}
	if c.PrepareTimeout == 0 {
		c.PrepareTimeout = 10
	}
	if c.ResendInterval == 0 {
		c.ResendInterval = 3
	}
	if c.QueryInterval == 0 {
		c.QueryInterval = 5
	}
	if c.PrepareTimeout < 1 || c.ResendInterval < 1 || c.QueryInterval < 1 {
		return errors.New("replica: Config intervals must be positive")
	}
	return nil
}
