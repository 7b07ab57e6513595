package replica

// Two-phase commit as a pure state machine.
//
// Every core runs one Node per replicated table. A Node is at once the
// coordinator of the writes made on its core and a participant in the writes
// of every other core. One transaction writes one key.
//
// The protocol (docs/replica.md has the reasons):
//
//  1. Propose: the coordinator locks the key on its own replica (if another
//     transaction holds it, the write aborts at once: ReasonConflict) and
//     sends Prepare(tx, op) to every other live core.
//  2. A participant that gets Prepare votes No if the key is locked by
//     another transaction and keeps no state; otherwise it locks the key,
//     remembers the op and votes Yes. A Yes is a promise: from then on the
//     participant holds the lock until it learns the decision and never
//     decides on its own.
//  3. The coordinator commits when every participant voted Yes: it applies
//     the op, unlocks, and sends Commit to every participant. On the first
//     No it aborts (ReasonConflict); if some vote is missing PrepareTimeout
//     ticks after Propose it aborts (ReasonTimeout). It sends Abort to the
//     participants and forgets the transaction.
//  4. A participant applies on Commit, unlocks and answers Ack; on Abort it
//     unlocks.
//
// Lost messages. The coordinator re-sends Prepare to silent participants and
// Commit to participants that have not acked, every ResendInterval ticks. A
// participant that has voted Yes and waited QueryInterval ticks asks the
// coordinator (Query), again every QueryInterval ticks.
//
// Presumed abort. The coordinator remembers a committed transaction until
// every participant has acked it, and forgets an aborted one at once; so it
// answers a Query or a late Vote for a transaction it does not know with
// Abort. That is safe: a transaction it does not know either aborted, or
// committed and was acked by everyone, in which case no participant is still
// prepared for it.
//
// Blocking. A participant that voted Yes never decides alone: aborting on a
// timeout could abort a write that the others committed. It waits, and asks:
// the coordinator every QueryInterval ticks and, from its second
// unanswered query on, every other participant too (cooperative
// termination). A participant that knows the outcome tells it; one that has
// never voted Yes answers Abort and promises never to vote Yes for that
// transaction (it will ignore its Prepare), so the coordinator cannot
// commit it. While the coordinator lives, the wait ends within a bounded
// number of ticks once messages get through. If the coordinator has stopped
// for good and every live participant voted Yes without learning the
// outcome, the participants block: they keep the key locked (writes to it
// abort as conflicts; reads go on) and never disagree. That is the blocking
// case of 2PC, chosen over a unilateral participant timeout, which would
// let replicas diverge (docs/replica.md).
//
// Duplicates and reordering. Every message from a coordinator carries its
// horizon: the lowest sequence number of its transactions that is not yet
// over (undecided, or committed but not acked by everyone). A participant
// ignores a Prepare below the horizon it has seen, or for a transaction it
// has already seen end, so a delayed duplicate never locks a key again or
// re-applies an old write.
//
// Failed cores. RemovePeer tells a node that a core has stopped for good
// (fail-stop, decided outside the protocol): new rounds leave it out and
// commits stop waiting for its ack. A core removed while still running would
// miss writes, so the caller must make sure it never steps again.

import (
	"fmt"
	"iter"
)

// round is an undecided transaction this node coordinates.
type round[V any] struct {
	seq      uint64
	op       Op[V]
	start    int64  // tick of Propose
	lastSend int64  // tick Prepare was last sent
	voted    []bool // voted[c]: core c voted Yes
	missing  int    // live participants that have not voted Yes
}

// commit is a committed transaction not yet acked by every participant.
type commit struct {
	seq      uint64
	unacked  []bool
	missing  int
	lastSend int64
}

// prepared is a transaction this node voted Yes for, waiting for its decision.
type prepared[V any] struct {
	tx        TxID
	op        Op[V]
	lastQuery int64
	queries   int // queries sent without an answer
}

// coordView is what a participant knows about one coordinator's transactions.
type coordView struct {
	horizon  uint64             // highest horizon seen: every seq below it is over
	resolved map[uint64]Outcome // outcomes of seqs at or above horizon seen to end here
}

// Node is one core's replica of a replicated table and its 2PC state.
//
// Ownership: a Node is core-local. Every method must be called by the core
// that owns it (one goroutine at a time); it shares nothing with other
// Nodes and is reached from other cores only through Messages. cfg is
// immutable after NewNode.
type Node[V any] struct {
	cfg  Config
	tick int64

	data  map[string]V    // the replica
	locks map[string]TxID // keys held by in-flight transactions (ours and others')
	live  []bool          // live[c]: core c takes part in new rounds

	// Coordinator side.
	nextSeq uint64
	rounds  []round[V] // undecided, in seq order
	commits []commit   // committed, waiting for acks, in seq order

	// Participant side.
	prepared []prepared[V]
	coords   []coordView // indexed by coordinator

	ready  Ready[V]
	inTick bool // in Tick: what send sends is marked Timer
}

// NewNode returns the replica of core cfg.ID, empty.
func NewNode[V any](cfg Config) (*Node[V], error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	n := &Node[V]{
		cfg:     cfg,
		data:    make(map[string]V),
		locks:   make(map[string]TxID),
		live:    make([]bool, cfg.Cores),
		nextSeq: 1,
		coords:  make([]coordView, cfg.Cores),
	}
	for i := range n.live {
		n.live[i] = true
		n.coords[i] = coordView{horizon: 1, resolved: make(map[uint64]Outcome)}
	}
	return n, nil
}

// ID returns the node's core.
func (n *Node[V]) ID() CoreID { return n.cfg.ID }

// Get reads the local replica. It sends nothing and takes no lock. A write
// in flight (prepared, not yet committed) is not visible.
func (n *Node[V]) Get(key string) (V, bool) {
	v, ok := n.data[key]
	return v, ok
}

// All yields the local replica's keys and values, in no particular order.
// The node must not be stepped during the iteration.
func (n *Node[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for k, v := range n.data {
			if !yield(k, v) {
				return
			}
		}
	}
}

// Len returns the number of keys in the local replica.
func (n *Node[V]) Len() int { return len(n.data) }

// Locked reports whether key is held by an in-flight transaction here, and
// which.
func (n *Node[V]) Locked(key string) (TxID, bool) {
	tx, ok := n.locks[key]
	return tx, ok
}

// InFlight returns the number of transactions this node coordinates that are
// undecided, and the number it is prepared for as a participant.
func (n *Node[V]) InFlight() (coordinating, prepared int) {
	return len(n.rounds), len(n.prepared)
}

// Put starts a transaction that stores v under key.
func (n *Node[V]) Put(key string, v V) Result {
	return n.Propose(Op[V]{Kind: OpPut, Key: key, Value: v})
}

// Delete starts a transaction that removes key.
func (n *Node[V]) Delete(key string) Result {
	return n.Propose(Op[V]{Kind: OpDelete, Key: key})
}

// Propose starts a transaction for op, coordinated by this node. If the
// Result is Pending, exactly one Decision for it appears in a later Ready;
// otherwise the outcome is final now (a local conflict, or no other live
// core) and no Decision follows.
func (n *Node[V]) Propose(op Op[V]) Result {
	if op.Kind != OpPut && op.Kind != OpDelete {
		panic("replica: Propose with a bad op kind")
	}
	tx := TxID{Core: n.cfg.ID, Seq: n.nextSeq}
	n.nextSeq++
	if _, held := n.locks[op.Key]; held {
		return Result{Tx: tx, Outcome: Aborted, Reason: ReasonConflict}
	}
	r := round[V]{seq: tx.Seq, op: op, start: n.tick, lastSend: n.tick, voted: make([]bool, n.cfg.Cores)}
	for c := range n.cfg.Cores {
		if CoreID(c) != n.cfg.ID && n.live[c] {
			r.missing++
		}
	}
	if r.missing == 0 {
		n.apply(tx, op)
		return Result{Tx: tx, Outcome: Committed, Reason: ReasonAllYes}
	}
	n.locks[op.Key] = tx
	n.rounds = append(n.rounds, r)
	n.sendPrepare(&n.rounds[len(n.rounds)-1])
	return Result{Tx: tx, Outcome: Pending}
}

// RemovePeer records that core has stopped for good: new rounds leave it
// out and commits stop waiting for its ack. Rounds already waiting for its
// vote time out. The caller must ensure core never steps again (fail-stop).
func (n *Node[V]) RemovePeer(core CoreID) {
	if core == n.cfg.ID || !n.live[core] {
		return
	}
	n.live[core] = false
	for i := range n.commits {
		c := &n.commits[i]
		if c.unacked[core] {
			c.unacked[core] = false
			c.missing--
		}
	}
	n.dropAcked()
}

// Tick advances the node's clock by one tick: rounds time out, Prepare and
// Commit are re-sent, prepared participants query.
func (n *Node[V]) Tick() {
	n.tick++
	n.inTick = true
	defer func() { n.inTick = false }()
	// Coordinator: time out or re-send Prepare.
	kept := n.rounds[:0]
	for i := range n.rounds {
		r := &n.rounds[i]
		if n.tick-r.start >= n.cfg.PrepareTimeout {
			n.abort(r, ReasonTimeout)
			continue
		}
		if n.tick-r.lastSend >= n.cfg.ResendInterval {
			r.lastSend = n.tick
			n.sendPrepare(r)
		}
		kept = append(kept, *r)
	}
	clear(n.rounds[len(kept):])
	n.rounds = kept
	// Coordinator: re-send Commit to participants that have not acked.
	for i := range n.commits {
		c := &n.commits[i]
		if n.tick-c.lastSend >= n.cfg.ResendInterval {
			c.lastSend = n.tick
			for p, un := range c.unacked {
				if un {
					n.send(Message[V]{Type: MsgCommit, To: CoreID(p), Tx: TxID{n.cfg.ID, c.seq}})
				}
			}
		}
	}
	// Participant: ask the coordinator about long-prepared transactions.
	for i := range n.prepared {
		p := &n.prepared[i]
		if n.tick-p.lastQuery >= n.cfg.QueryInterval {
			p.lastQuery = n.tick
			p.queries++
			n.send(Message[V]{Type: MsgQuery, To: p.tx.Core, Tx: p.tx})
			if p.queries < 2 {
				continue
			}
			// The coordinator is silent: ask the other participants too.
			for c := range n.cfg.Cores {
				if CoreID(c) != n.cfg.ID && CoreID(c) != p.tx.Core && n.live[c] {
					n.send(Message[V]{Type: MsgQuery, To: CoreID(c), Tx: p.tx})
				}
			}
		}
	}
}

// Step hands the node a message addressed to it. It returns an error, and
// changes nothing, for a message that is not well formed (a kernel bug in
// the sender or the transport).
func (n *Node[V]) Step(m Message[V]) error {
	if m.To != n.cfg.ID {
		return fmt.Errorf("replica: message for core %d stepped on core %d", m.To, n.cfg.ID)
	}
	if m.From < 0 || int(m.From) >= n.cfg.Cores || m.From == n.cfg.ID {
		return fmt.Errorf("replica: message from bad core %d", m.From)
	}
	if m.Tx.Seq == 0 || m.Tx.Core < 0 || int(m.Tx.Core) >= n.cfg.Cores {
		return fmt.Errorf("replica: message with bad transaction %v", m.Tx)
	}
	if !n.live[m.From] {
		return nil // a removed core's late message: it has stopped for good
	}
	switch m.Type {
	case MsgPrepare:
		if m.Tx.Core != m.From {
			return fmt.Errorf("replica: prepare for transaction %v from core %d", m.Tx, m.From)
		}
		if m.Op.Kind != OpPut && m.Op.Kind != OpDelete {
			return fmt.Errorf("replica: prepare with bad op kind %d", m.Op.Kind)
		}
		n.stepParticipant(m)
	case MsgCommit, MsgAbort: // from the coordinator, or relayed by a peer
		if m.Tx.Core == n.cfg.ID {
			return fmt.Errorf("replica: %s for transaction %v coordinated here", m.Type, m.Tx)
		}
		n.stepParticipant(m)
	case MsgQuery:
		if m.Tx.Core != n.cfg.ID {
			n.stepPeerQuery(m)
			return nil
		}
		fallthrough
	case MsgVote, MsgAck:
		if m.Tx.Core != n.cfg.ID || m.Tx.Seq >= n.nextSeq {
			return fmt.Errorf("replica: %s for transaction %v not coordinated here", m.Type, m.Tx)
		}
		n.stepCoordinator(m)
	default:
		return fmt.Errorf("replica: unknown message type %d", m.Type)
	}
	return nil
}

func (n *Node[V]) stepParticipant(m Message[V]) {
	cv := &n.coords[m.Tx.Core]
	if m.From == m.Tx.Core && m.Horizon > cv.horizon {
		cv.horizon = m.Horizon
		for seq := range cv.resolved {
			if seq < cv.horizon {
				delete(cv.resolved, seq)
			}
		}
	}
	i := n.findPrepared(m.Tx)
	switch m.Type {
	case MsgPrepare:
		if i >= 0 { // duplicate: repeat the vote
			n.send(Message[V]{Type: MsgVote, To: m.From, Tx: m.Tx, Yes: true})
			return
		}
		if _, over := cv.resolved[m.Tx.Seq]; over || m.Tx.Seq < cv.horizon {
			return // stale duplicate of a finished transaction
		}
		if _, held := n.locks[m.Op.Key]; held {
			// No state kept: a re-sent Prepare is judged afresh.
			n.send(Message[V]{Type: MsgVote, To: m.From, Tx: m.Tx, Yes: false})
			return
		}
		n.locks[m.Op.Key] = m.Tx
		n.prepared = append(n.prepared, prepared[V]{tx: m.Tx, op: m.Op, lastQuery: n.tick})
		n.send(Message[V]{Type: MsgVote, To: m.From, Tx: m.Tx, Yes: true})
	case MsgCommit:
		if i >= 0 {
			p := n.prepared[i]
			n.removePrepared(i)
			delete(n.locks, p.op.Key)
			n.apply(p.tx, p.op)
			n.markResolved(cv, m.Tx.Seq, Committed)
		}
		// Ack even a duplicate: the first ack may have been lost. The ack
		// goes to the coordinator even when a peer relayed the Commit.
		n.send(Message[V]{Type: MsgAck, To: m.Tx.Core, Tx: m.Tx})
	case MsgAbort:
		if i >= 0 {
			p := n.prepared[i]
			n.removePrepared(i)
			delete(n.locks, p.op.Key)
		}
		n.markResolved(cv, m.Tx.Seq, Aborted)
	}
}

// stepPeerQuery answers a participant that asks this node, another
// participant, about a transaction whose coordinator has not answered it
// (cooperative termination). The answer is only ever an outcome some node
// already knows, or Abort from a node that has never voted Yes for the
// transaction and now promises it never will: then the coordinator cannot
// collect every Yes, so the transaction cannot commit anywhere.
func (n *Node[V]) stepPeerQuery(m Message[V]) {
	if n.findPrepared(m.Tx) >= 0 {
		return // as uncertain as the asker
	}
	cv := &n.coords[m.Tx.Core]
	o, known := cv.resolved[m.Tx.Seq]
	switch {
	case known:
	case m.Tx.Seq < cv.horizon:
		// Over at the coordinator, and the asker is still prepared, so it
		// did not ack a commit: the transaction aborted.
		o = Aborted
	default:
		// Never voted Yes for it: promise never to (a later Prepare is
		// ignored), so the coordinator will time out and abort.
		o = Aborted
		cv.resolved[m.Tx.Seq] = Aborted
	}
	t := MsgAbort
	if o == Committed {
		t = MsgCommit
	}
	n.send(Message[V]{Type: t, To: m.From, Tx: m.Tx})
}

func (n *Node[V]) stepCoordinator(m Message[V]) {
	if i := n.findRound(m.Tx.Seq); i >= 0 {
		r := &n.rounds[i]
		switch m.Type {
		case MsgVote:
			if !m.Yes {
				n.abort(r, ReasonConflict)
				n.removeRound(i)
				return
			}
			if !r.voted[m.From] && n.live[m.From] {
				r.voted[m.From] = true
				r.missing--
			}
			if r.missing == 0 {
				n.commit(r)
				n.removeRound(i)
			}
		case MsgQuery, MsgAck:
			// Undecided: the participant asks again later. (An Ack cannot
			// come before Commit; ignore it.)
		}
		return
	}
	if i := n.findCommit(m.Tx.Seq); i >= 0 {
		c := &n.commits[i]
		switch m.Type {
		case MsgAck:
			if c.unacked[m.From] {
				c.unacked[m.From] = false
				c.missing--
				n.dropAcked()
			}
		case MsgVote, MsgQuery:
			if c.unacked[m.From] {
				n.send(Message[V]{Type: MsgCommit, To: m.From, Tx: m.Tx})
			}
		}
		return
	}
	// Not known: aborted, or committed and acked by everyone. Presumed abort.
	if m.Type == MsgVote && m.Yes || m.Type == MsgQuery {
		n.send(Message[V]{Type: MsgAbort, To: m.From, Tx: m.Tx})
	}
}

// commit decides Commit for r: apply here, tell everyone, wait for acks.
func (n *Node[V]) commit(r *round[V]) {
	tx := TxID{n.cfg.ID, r.seq}
	delete(n.locks, r.op.Key)
	n.apply(tx, r.op)
	c := commit{seq: r.seq, unacked: make([]bool, n.cfg.Cores), lastSend: n.tick}
	for p, yes := range r.voted {
		if yes && n.live[p] {
			c.unacked[p] = true
			c.missing++
		}
	}
	// Keep commits in seq order for the horizon.
	at := len(n.commits)
	for at > 0 && n.commits[at-1].seq > c.seq {
		at--
	}
	n.commits = append(n.commits, commit{})
	copy(n.commits[at+1:], n.commits[at:])
	n.commits[at] = c
	n.ready.Decisions = append(n.ready.Decisions, Decision[V]{Tx: tx, Op: r.op, Outcome: Committed, Reason: ReasonAllYes, Ticks: n.tick - r.start})
	for p, un := range c.unacked {
		if un {
			n.send(Message[V]{Type: MsgCommit, To: CoreID(p), Tx: tx})
		}
	}
	n.dropAcked()
}

// abort decides Abort for r and forgets it (the caller removes it).
func (n *Node[V]) abort(r *round[V], why Reason) {
	tx := TxID{n.cfg.ID, r.seq}
	delete(n.locks, r.op.Key)
	n.ready.Decisions = append(n.ready.Decisions, Decision[V]{Tx: tx, Op: r.op, Outcome: Aborted, Reason: why, Ticks: n.tick - r.start})
	// Tell every live participant: a prepared one unlocks, one whose Prepare
	// is still on its way will ignore it.
	for p := range n.cfg.Cores {
		if CoreID(p) != n.cfg.ID && n.live[p] {
			n.send(Message[V]{Type: MsgAbort, To: CoreID(p), Tx: tx})
		}
	}
}

func (n *Node[V]) sendPrepare(r *round[V]) {
	tx := TxID{n.cfg.ID, r.seq}
	for p := range n.cfg.Cores {
		if CoreID(p) != n.cfg.ID && n.live[p] && !r.voted[p] {
			n.send(Message[V]{Type: MsgPrepare, To: CoreID(p), Tx: tx, Op: r.op})
		}
	}
}

// send queues m, stamping the sender and, for coordinator messages, the horizon.
func (n *Node[V]) send(m Message[V]) {
	m.From = n.cfg.ID
	m.Timer = n.inTick
	if m.Tx.Core == n.cfg.ID {
		m.Horizon = n.horizon()
	}
	n.ready.Messages = append(n.ready.Messages, m)
}

// horizon is the lowest seq of this coordinator's transactions not yet over.
func (n *Node[V]) horizon() uint64 {
	h := n.nextSeq
	if len(n.rounds) > 0 {
		h = min(h, n.rounds[0].seq)
	}
	if len(n.commits) > 0 {
		h = min(h, n.commits[0].seq)
	}
	return h
}

func (n *Node[V]) apply(tx TxID, op Op[V]) {
	op.apply(n.data)
	n.ready.Applied = append(n.ready.Applied, Applied[V]{Tx: tx, Op: op})
}

func (n *Node[V]) markResolved(cv *coordView, seq uint64, o Outcome) {
	if seq >= cv.horizon {
		cv.resolved[seq] = o
	}
}

// dropAcked forgets commits every live participant has acked.
func (n *Node[V]) dropAcked() {
	kept := n.commits[:0]
	for _, c := range n.commits {
		if c.missing > 0 {
			kept = append(kept, c)
		}
	}
	clear(n.commits[len(kept):])
	n.commits = kept
}

func (n *Node[V]) findRound(seq uint64) int {
	for i := range n.rounds {
		if n.rounds[i].seq == seq {
			return i
		}
	}
	return -1
}

func (n *Node[V]) removeRound(i int) {
	n.rounds = append(n.rounds[:i], n.rounds[i+1:]...)
	clear(n.rounds[len(n.rounds):cap(n.rounds)][:1])
}

func (n *Node[V]) findCommit(seq uint64) int {
	for i := range n.commits {
		if n.commits[i].seq == seq {
			return i
		}
	}
	return -1
}

func (n *Node[V]) findPrepared(tx TxID) int {
	for i := range n.prepared {
		if n.prepared[i].tx == tx {
			return i
		}
	}
	return -1
}

func (n *Node[V]) removePrepared(i int) {
	n.prepared = append(n.prepared[:i], n.prepared[i+1:]...)
	clear(n.prepared[len(n.prepared):cap(n.prepared)][:1])
}

// HasReady reports whether Ready has anything for the caller.
func (n *Node[V]) HasReady() bool {
	return len(n.ready.Messages) > 0 || len(n.ready.Decisions) > 0 || len(n.ready.Applied) > 0
}

// Ready returns what the caller must do (see Ready). The slices stay valid
// until Advance.
func (n *Node[V]) Ready() Ready[V] { return n.ready }

// Advance tells the node the caller has handled the last Ready.
func (n *Node[V]) Advance() {
	clear(n.ready.Messages)
	clear(n.ready.Decisions)
	clear(n.ready.Applied)
	n.ready.Messages = n.ready.Messages[:0]
	n.ready.Decisions = n.ready.Decisions[:0]
	n.ready.Applied = n.ready.Applied[:0]
}
