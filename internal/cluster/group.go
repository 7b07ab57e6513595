package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"slices"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Config is a node's part of a cluster. Immutable once given to Start.
type Config struct {
	ID        uint64    // this node's id, not 0; never reused once removed
	Addr      string    // this node's peer address, as the membership records it
	Path      string    // the bbolt file of the node's durable log
	Transport Transport // frames to and from the other nodes

	// Peers are the founding members (this node included), id -> address:
	// used only when the log is empty, to bootstrap a new cluster. A node
	// with an empty log and no Peers starts with no members and is admitted
	// by Join.
	Peers map[uint64]string

	Tick           time.Duration // DefaultTick when 0
	ElectionTicks  int           // DefaultElectionTicks when 0
	HeartbeatTicks int           // DefaultHeartbeatTicks when 0
	SnapshotEvery  uint64        // DefaultSnapshotEvery when 0

	// OnMembers, when set, is called on the group's goroutine with a copy of
	// the membership each time it changes (and once at start): the place to
	// tell the transport where each node is. It must not block.
	OnMembers func(members map[uint64]string)
	// OnNames, when set, is called on the group's goroutine with a copy of
	// the name table each time entries that may change it are applied (and
	// once at start): the place to tell the gateway which remote names
	// exist. It must not block.
	OnNames func(names map[string]Name)
	// NameExpiry is how long the leader goes without a message from a node
	// before it drops that node's names (DefaultNameExpiry when 0).
	NameExpiry time.Duration
}

// Stats are a group's counters, read with Group.Stats.
type Stats struct {
	Applied        uint64 // index of the last applied entry
	Snapshots      int    // snapshots this node took
	DroppedRemoved int    // messages dropped because their sender was removed
	DroppedForged  int    // messages whose sender was not who the transport said
	DroppedBad     int    // messages that did not decode, or were too large
	Term           uint64
	Lead           uint64 // the leader this node knows of (0: none)
	LogFirst       uint64 // first index still in the log
}

// Group is one node's replica of the cluster's Raft group. cfg, in, stop
// and done are set by Start and never change; every other field is owned by
// the loop goroutine (err is read by others only once done is closed).
type Group struct {
	cfg  Config
	in   chan func() // work posted to the loop
	stop chan struct{}
	done chan struct{} // closed when the loop has ended; err is then final
	err  error         // why the loop ended (loop-owned until done)

	rn        *raft.RawNode
	log       *logStore
	state     *State
	conf      *pb.ConfState
	applied   uint64
	snapIndex uint64
	ticks     uint64
	stats     Stats

	waits        map[uint64]*waiting // proposals by request id
	queued       []queued            // proposals the library dropped (no leader yet)
	reads        map[uint64]*pendingRead
	joining      map[uint64]uint64 // node id -> tick its add was proposed (member side)
	membersDirty bool              // the membership changed in this Ready
	namesDirty   bool              // the name table may have changed in this Ready
	heard        map[uint64]uint64 // node id -> tick of its last message (expire.go)
	expiring     map[uint64]uint64 // node id -> tick its expiry was last proposed
	leadSince    uint64            // tick this node became leader (0: not leader)
	join         *pendingJoin      // this node's own join, while it runs
}

type queued struct {
	req  uint64
	data []byte
	cc   *pb.ConfChange // nil: a command
}

// waiting is a proposal whose caller waits for its entry. A proposal the
// library accepted may be lost with a deposed or unreachable leader, and
// nothing says so: it is proposed again every ElectionTicks ticks until
// applied. The state machine applies a request id once (State.Done), so a
// retry that finds its first copy committed answers with the first outcome.
type waiting struct {
	ctx  context.Context // the caller's: once it ends, the wait is dropped
	done chan error
	p    queued
	sent uint64 // tick of the last proposal
}

type pendingRead struct {
	ctx   context.Context
	name  string
	all   bool // Members, not Lookup
	index uint64
	known bool
	asked uint64 // tick of the last ReadIndex
	reply chan readResult
}

type readResult struct {
	name    Name
	found   bool
	members map[uint64]string
}

type pendingJoin struct {
	ctx   context.Context
	via   []uint64
	asked uint64
	reply chan error
}

type joinRequest struct {
	ID   uint64 `json:"id"`
	Addr string `json:"addr"`
}

type joinRefusal struct {
	Reason string `json:"reason"`
}

// Start opens the node's log (bootstrapping a new cluster from cfg.Peers
// when it is empty, restarting from it otherwise) and starts the loop.
func Start(cfg Config) (*Group, error) {
	if cfg.ID == 0 || cfg.Transport == nil || cfg.Path == "" {
		return nil, fmt.Errorf("%w: a node needs an id (not 0), a transport and a log path", ErrInvalid)
	}
	if err := validAddr(cfg.Addr); err != nil {
		return nil, err
	}
	cfg = withDefaults(cfg)
	ls, err := openLog(cfg.Path)
	if err != nil {
		return nil, err
	}
	g := &Group{cfg: cfg, log: ls, in: make(chan func(), Inbox), stop: make(chan struct{}), done: make(chan struct{}),
		waits: map[uint64]*waiting{}, reads: map[uint64]*pendingRead{}, joining: map[uint64]uint64{},
		heard: map[uint64]uint64{}, expiring: map[uint64]uint64{}}
	if err := g.boot(); err != nil {
		ls.close()
		return nil, err
	}
	// The transport lends each payload until the handler returns; the loop
	// gets a copy.
	cfg.Transport.Handle(KindRaft, func(from uint64, p []byte) { p = bytes.Clone(p); g.postNet(func() { g.step(from, p) }) })
	cfg.Transport.Handle(KindJoin, func(from uint64, p []byte) { p = bytes.Clone(p); g.postNet(func() { g.onJoin(from, p) }) })
	cfg.Transport.Handle(KindRefuse, func(from uint64, p []byte) { p = bytes.Clone(p); g.postNet(func() { g.onRefuse(from, p) }) })
	cfg.Transport.OnPeerDown(func(peer uint64) { g.postNet(func() { g.rn.ReportUnreachable(peer) }) })
	go g.loop()
	return g, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Tick == 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.ElectionTicks == 0 {
		cfg.ElectionTicks = DefaultElectionTicks
	}
	if cfg.HeartbeatTicks == 0 {
		cfg.HeartbeatTicks = DefaultHeartbeatTicks
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = DefaultSnapshotEvery
	}
	if cfg.NameExpiry == 0 {
		cfg.NameExpiry = DefaultNameExpiry
	}
	return cfg
}

// boot makes the RawNode from the log: the state machine from the latest
// snapshot, then (on the loop) the committed entries after it, again.
func (g *Group) boot() (err error) {
	snap := g.log.snap
	if g.state, err = unmarshalState(snap.GetData()); err != nil {
		return err
	}
	g.applied = snap.GetMetadata().GetIndex()
	g.snapIndex = g.applied
	g.conf = pb.EnsureConfState(snap.GetMetadata().GetConfState())
	rc := &raft.Config{
		ID: g.cfg.ID, ElectionTick: g.cfg.ElectionTicks, HeartbeatTick: g.cfg.HeartbeatTicks,
		Storage: g.log.mem, Applied: g.applied, MaxSizePerMsg: MaxSizePerMsg, MaxInflightMsgs: MaxInflightMsgs,
		CheckQuorum: true, PreVote: true, ReadOnlyOption: raft.ReadOnlySafe,
		Logger: &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)},
	}
	defer func() {
		if r := recover(); r != nil { // the library panics on a log it cannot use
			err = fmt.Errorf("%w (%s): %v", ErrCorruptLog, g.cfg.Path, r)
		}
	}()
	if g.rn, err = raft.NewRawNode(rc); err != nil {
		return err
	}
	if g.log.empty && len(g.cfg.Peers) > 0 {
		if _, ok := g.cfg.Peers[g.cfg.ID]; !ok {
			return fmt.Errorf("%w: the founding peers must include this node (%d)", ErrInvalid, g.cfg.ID)
		}
		peers := make([]raft.Peer, 0, len(g.cfg.Peers))
		for _, id := range sortedIDs(g.cfg.Peers) {
			if err := validAddr(g.cfg.Peers[id]); err != nil {
				return err
			}
			ctx, _ := json.Marshal(memberContext{Addr: g.cfg.Peers[id]})
			peers = append(peers, raft.Peer{ID: id, Context: ctx})
		}
		return g.rn.Bootstrap(peers)
	}
	return nil
}

// loop is the group's goroutine: ticks, posted work, and a Ready after each.
func (g *Group) loop() {
	defer close(g.done)
	t := time.NewTicker(g.cfg.Tick)
	defer t.Stop()
	if g.cfg.OnMembers != nil {
		g.cfg.OnMembers(maps.Clone(g.state.Members))
	}
	if g.cfg.OnNames != nil {
		g.cfg.OnNames(maps.Clone(g.state.Names))
	}
	for g.err == nil {
		g.turn(t.C)
	}
	g.failAll(g.err)
	g.log.close()
}

// turn is one pass of the loop. The library panics on a state it cannot
// continue from (a peer claiming more of this node's log than it holds);
// that ends this group with an error, not the process.
func (g *Group) turn(tick <-chan time.Time) {
	defer func() {
		if r := recover(); r != nil {
			g.err = fmt.Errorf("cluster: node %d stopped: raft: %v", g.cfg.ID, r)
		}
	}()
	select {
	case <-g.stop:
		g.err = ErrStopped
	case <-tick:
		g.tick()
	case fn := <-g.in:
		fn()
	}
	for g.err == nil && g.rn.HasReady() {
		g.ready()
	}
}

func (g *Group) tick() {
	g.ticks++
	g.rn.Tick()
	q := g.queued
	g.queued = nil
	for _, p := range q {
		g.submit(p)
	}
	for req, w := range g.waits {
		if w.ctx.Err() != nil {
			delete(g.waits, req) // its caller has gone
			continue
		}
		if g.ticks-w.sent >= uint64(g.cfg.ElectionTicks) {
			g.submit(w.p)
		}
	}
	for id, r := range g.reads {
		if r.ctx.Err() != nil {
			delete(g.reads, id)
			continue
		}
		if !r.known && g.ticks-r.asked >= RetryTicks {
			r.asked = g.ticks
			g.rn.ReadIndex(reqBytes(id))
		}
	}
	if j := g.join; j != nil && j.ctx.Err() != nil {
		g.join = nil
	} else if j != nil && g.ticks-j.asked >= RetryTicks {
		g.askJoin()
	}
	g.expireNames()
}

// ready handles one Ready, in the order the library requires: persist, send,
// apply, Advance.
func (g *Group) ready() {
	rd := g.rn.Ready()
	if err := g.log.save(rd.HardState, rd.Entries, rd.Snapshot); err != nil {
		g.err = err
		return
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := g.restore(rd.Snapshot); err != nil {
			g.err = err
			return
		}
	}
	g.send(rd.Messages)
	for _, e := range rd.CommittedEntries {
		g.applyEntry(e)
		if g.err != nil {
			return
		}
	}
	for _, rs := range rd.ReadStates {
		if r := g.reads[reqID(rs.RequestCtx)]; r != nil && !r.known {
			r.index, r.known = rs.Index, true
		}
	}
	g.answerReads()
	if g.membersDirty && g.cfg.OnMembers != nil {
		g.cfg.OnMembers(maps.Clone(g.state.Members))
	}
	g.membersDirty = false
	if g.namesDirty && g.cfg.OnNames != nil {
		g.cfg.OnNames(maps.Clone(g.state.Names))
	}
	g.namesDirty = false
	g.rn.Advance(rd)
	if g.applied-g.snapIndex >= g.cfg.SnapshotEvery {
		if err := g.log.snapshot(g.applied, g.conf, g.state.marshal()); err != nil {
			g.err = err
			return
		}
		g.snapIndex = g.applied
		g.stats.Snapshots++
	}
}

func (g *Group) restore(snap *pb.Snapshot) error {
	st, err := unmarshalState(snap.GetData())
	if err != nil {
		return err
	}
	g.state = st
	g.applied = snap.GetMetadata().GetIndex()
	g.snapIndex = g.applied
	g.conf = pb.EnsureConfState(snap.GetMetadata().GetConfState())
	g.membersChanged()
	return nil
}

func (g *Group) send(msgs []*pb.Message) {
	for _, m := range msgs {
		b, err := proto.Marshal(m)
		if err == nil {
			err = g.cfg.Transport.Send(m.GetTo(), KindRaft, b)
		}
		if err != nil {
			g.rn.ReportUnreachable(m.GetTo())
		}
		if m.GetType() == pb.MsgSnap {
			status := raft.SnapshotFinish
			if err != nil {
				status = raft.SnapshotFailure
			}
			g.rn.ReportSnapshot(m.GetTo(), status)
		}
	}
}

// step hands a peer's message to the library, after the checks that the
// library does not make: the sender is who the transport says, is not a
// removed node, and the message is for this node.
func (g *Group) step(from uint64, p []byte) {
	if len(p) > MaxMessage {
		g.stats.DroppedBad++
		return
	}
	m := &pb.Message{}
	if err := proto.Unmarshal(p, m); err != nil || m.GetTo() != g.cfg.ID || raft.IsLocalMsg(m.GetType()) {
		g.stats.DroppedBad++
		return
	}
	switch {
	case m.GetFrom() != from:
		g.stats.DroppedForged++
	case g.state.Removed[from]:
		g.stats.DroppedRemoved++
	case m.GetType() == pb.MsgProp && !g.ownProposal(from, m):
		g.stats.DroppedForged++
	case m.GetType() == pb.MsgHeartbeat && m.GetCommit() > g.lastIndex():
		// The leader believes this node holds entries it does not: its log
		// was lost, or another node used its id. Following would panic the
		// library; refusing leaves the join to be refused, or the operator
		// to restore the log.
		g.stats.DroppedBad++
	default:
		g.heard[from] = g.ticks
		g.rn.Step(m) // an error is a message for a stale term or a dropped proposal: nothing to do
	}
}

// ownProposal reports whether every entry of a proposal that from forwarded
// is its own: a command it makes for itself, or a conf change by a member.
// The leader appends what it is given, so this is where one node's claim to
// act for another is refused.
func (g *Group) ownProposal(from uint64, m *pb.Message) bool {
	for _, e := range m.GetEntries() {
		switch e.GetType() {
		case pb.EntryNormal:
			var c command
			if len(e.GetData()) > 0 && (json.Unmarshal(e.GetData(), &c) != nil || c.By != from || c.Val.Node != from) {
				return false
			}
		default:
			if _, member := g.state.Members[from]; !member {
				return false
			}
		}
	}
	return true
}

func (g *Group) lastIndex() uint64 {
	i, _ := g.log.mem.LastIndex()
	return i
}

func (g *Group) applyEntry(e *pb.Entry) {
	g.applied = e.GetIndex()
	switch e.GetType() {
	case pb.EntryNormal:
		if len(e.GetData()) == 0 {
			return // a new leader's empty entry, or a conf change the leader replaced
		}
		var c command
		err := json.Unmarshal(e.GetData(), &c)
		if err == nil {
			err = g.state.applyOnce(c, e.GetIndex())
			g.namesDirty = true
		} else {
			err = fmt.Errorf("%w: entry %d does not decode", ErrInvalid, e.GetIndex())
		}
		g.answer(c.By, c.Req, err)
	case pb.EntryConfChange:
		cc := &pb.ConfChange{}
		if err := proto.Unmarshal(e.GetData(), cc); err != nil {
			return // refused the same on every node: see applyConf
		}
		g.applyConf(cc)
	default:
		// This group proposes only V1 changes; a V2 one is refused.
	}
}

// applyConf applies a committed conf change that the membership's rules
// admit (State.admit).
func (g *Group) applyConf(cc *pb.ConfChange) {
	var mc memberContext
	json.Unmarshal(cc.GetContext(), &mc) // an empty or bad context leaves mc empty: the address check refuses it
	add := cc.GetType() == pb.ConfChangeAddNode
	id := cc.GetNodeId()
	err := g.state.admit(add, id, mc.Addr)
	if err == nil && !add && cc.GetType() != pb.ConfChangeRemoveNode {
		err = fmt.Errorf("%w: conf change %v", ErrInvalid, cc.GetType())
	}
	if err != nil {
		// Refused alike on every node: a refused change is not handed to
		// ApplyConfChange at all, as the library asks (an empty ConfChangeV2
		// would mean "leave the joint configuration", and it panics outside one).
		g.answer(mc.By, mc.Req, err)
		return
	}
	g.conf = g.rn.ApplyConfChange(cc)
	g.state.applyMember(add, id, mc.Addr)
	delete(g.joining, id)
	g.membersChanged()
	g.answer(mc.By, mc.Req, nil)
	if !add && id == g.cfg.ID {
		g.err = ErrRemoved
	}
}

// membersChanged notes a change of membership: OnMembers hears of it once
// at the end of the Ready (a restart replays many), a join waiting for this
// node's admission ends now.
func (g *Group) membersChanged() {
	g.membersDirty, g.namesDirty = true, true
	if j := g.join; j != nil {
		if _, ok := g.state.Members[g.cfg.ID]; ok {
			j.reply <- nil
			g.join = nil
		}
	}
}

func (g *Group) answer(by, req uint64, err error) {
	if by != g.cfg.ID {
		return
	}
	if w := g.waits[req]; w != nil {
		w.done <- err
		delete(g.waits, req)
	}
}

func (g *Group) answerReads() {
	for req, w := range g.waits {
		if w.ctx.Err() != nil {
			delete(g.waits, req) // its caller has gone
			continue
		}
		if g.ticks-w.sent >= uint64(g.cfg.ElectionTicks) {
			g.submit(w.p)
		}
	}
	for id, r := range g.reads {
		if !r.known || r.index > g.applied {
			continue
		}
		res := readResult{}
		if r.all {
			res.members = maps.Clone(g.state.Members)
		} else {
			res.name, res.found = g.state.Names[r.name]
		}
		r.reply <- res
		delete(g.reads, id)
	}
}

func (g *Group) failAll(err error) {
	for req, w := range g.waits {
		w.done <- err
		delete(g.waits, req)
	}
	for id := range g.reads {
		delete(g.reads, id) // the reader sees done and g.err
	}
	if g.join != nil {
		g.join.reply <- err
		g.join = nil
	}
}

// submit proposes p; a proposal the library drops at once (no leader
// known) waits for the next tick. One it accepted may still be lost with a
// deposed leader: its caller's deadline answers then.
func (g *Group) submit(p queued) {
	w := g.waits[p.req]
	if w == nil && p.req != 0 {
		return // its caller gave up
	}
	if w != nil {
		w.sent = g.ticks
	}
	var err error
	if p.cc != nil {
		err = g.rn.ProposeConfChange(p.cc)
	} else {
		err = g.rn.Propose(p.data)
	}
	switch {
	case errors.Is(err, raft.ErrProposalDropped):
		g.queued = append(g.queued, p)
	case err != nil:
		g.answer(g.cfg.ID, p.req, err)
	}
}

func sortedIDs(m map[uint64]string) []uint64 { return slices.Sorted(maps.Keys(m)) }

func newReq() uint64 {
	var b [8]byte
	rand.Read(b[:])
	if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
		return v
	}
	return 1
}

func reqBytes(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

func reqID(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
