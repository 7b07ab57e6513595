// Package cluster keeps the state that several isle machines share: the
// cluster's membership (node id -> peer address) and its name table (name ->
// node, endpoint, contract), in one Raft group driven by etcd's raft library
// (go.etcd.io/raft/v3).
//
// The rules of its interface:
//
//   - A Group is one node's replica. Its RawNode, its state machine, its waits
//     and its durable log are owned by the group's one goroutine (the loop);
//     every other goroutine reaches them by posting a function to the loop.
//     The loop is the thin shell: it ticks the RawNode, steps it with the
//     messages the Transport hands in, and for each Ready persists HardState,
//     entries and snapshot to the log (one bbolt transaction, one fsync), sends
//     the messages, applies the committed entries, answers the waits and calls
//     Advance. The protocol itself is etcd's, a pure state machine; the name
//     table and the membership are State, a pure value applied entry by entry.
//   - Writes (Register, Unregister, AddMember, RemoveMember) return when their
//     entry is committed and applied on this node, or with an error when the
//     context ends first (ErrTimeout: the outcome is then unknown, as with any
//     request to a replicated service that did not answer).
//   - Reads (Lookup, Members) are linearizable: they go through Raft's
//     ReadIndex and are answered once this node has applied at least the index
//     the leader confirmed with a quorum.
//   - Nothing received is trusted: a message whose sender is not the node the
//     transport authenticated, or that comes from a removed node, is dropped;
//     a committed entry that does not decode or breaks a limit is refused the
//     same way on every node.
//
// docs/cluster.md records the design and what happens on each failure.
package cluster

import "time"

// Limits and defaults of a cluster group, in one place.
const (
	// MaxName is the longest registered name, in bytes (as internal/names).
	MaxName = 256
	// MaxContract is the longest contract name carried with a registration.
	MaxContract = 256
	// MaxContractSource is the longest contract source carried with a
	// registration (as the ABI's own limit on a contract's source).
	MaxContractSource = 64 << 10
	// MaxAddr is the longest peer address kept in the membership.
	MaxAddr = 256
	// MaxMessage is the largest Raft message a node accepts from a peer;
	// larger ones are dropped before decoding.
	MaxMessage = 16 << 20
	// MaxPending is how many writes and reads a node keeps waiting at once;
	// past it a new request fails at once with ErrBusy.
	MaxPending = 4096
	// Inbox is the depth of the loop's queue of posted work; a message from
	// the transport that finds it full is dropped (Raft retransmits).
	Inbox = 1024

	// DefaultTick is the length of one Raft tick.
	DefaultTick = 10 * time.Millisecond
	// DefaultElectionTicks is Raft's election timeout in ticks (randomised by
	// the library within [n, 2n)); DefaultHeartbeatTicks the leader's
	// heartbeat interval.
	DefaultElectionTicks  = 10
	DefaultHeartbeatTicks = 1
	// DefaultSnapshotEvery is how many applied entries pass between two
	// snapshots of the state machine; after a snapshot the log keeps
	// SnapshotKeep entries before it, so that a follower a little behind
	// catches up from entries rather than from the whole snapshot.
	DefaultSnapshotEvery = 1000
	SnapshotKeep         = 100
	// RetryTicks is how often (in ticks) a read whose index is not yet known,
	// a proposal the library dropped for want of a leader, and a join request
	// are tried again.
	RetryTicks = 3
	// DefaultNameExpiry is how long the leader goes without hearing from a
	// node (no Raft message: its process or its link is down) before it
	// drops the node's names from the table (Config.NameExpiry).
	DefaultNameExpiry = 3 * time.Second
	// MaxSizePerMsg and MaxInflightMsgs bound the library's appends.
	MaxSizePerMsg   = 1 << 20
	MaxInflightMsgs = 256
)

// Kinds of transport frames the group sends and handles.
const (
	KindRaft   byte = 0x10 // a raftpb.Message, protobuf-encoded
	KindJoin   byte = 0x11 // a joining node asks a member to add it (joinRequest, JSON)
	KindRefuse byte = 0x12 // a member refuses a join (joinRefusal, JSON)
)

// Transport carries frames between the nodes of a cluster, addressed by node
// id. The link (internal/cluster/link: mutual TLS over TCP, batched frames)
// is the real one; tests use an in-memory fake that can partition, drop and
// delay. Send may drop a frame (the group retransmits); it must not alter one,
// and a handler's from must be the id the transport authenticated. A
// handler's payload is valid until the handler returns (the link reads the
// next frames over it): the group copies what it keeps.
type Transport interface {
	Send(to uint64, kind byte, payload []byte) error
	Handle(kind byte, fn func(from uint64, payload []byte))
	OnPeerDown(fn func(peer uint64))
}
