package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	pb "go.etcd.io/raft/v3/raftpb"
)

// post runs fn on the loop, waiting for room in its queue.
func (g *Group) post(ctx context.Context, fn func()) error {
	select {
	case g.in <- fn:
		return nil
	case <-g.done:
		return g.err
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", ErrTimeout, ctx.Err())
	}
}

// postNet runs fn on the loop if there is room: a transport's handler never
// waits for the group (a dropped frame is retransmitted by Raft).
func (g *Group) postNet(fn func()) {
	select {
	case g.in <- fn:
	default:
	}
}

// Register adds name -> v to the cluster's name table, returning when the
// entry is committed and applied here: nil, ErrExists (someone holds the
// name), ErrInvalid, or ErrTimeout when ctx ends first (the outcome is then
// unknown). v.Node is this node: a node registers names for itself only.
func (g *Group) Register(ctx context.Context, name string, v Name) error {
	v.Node = g.cfg.ID
	if err := validName(name, v); err != nil {
		return err
	}
	return g.propose(ctx, command{Op: opRegister, Name: name, Val: v})
}

// Unregister removes name, which this node must hold: ErrNotFound,
// ErrNotOwner. (A node's names go with it when it is removed.)
func (g *Group) Unregister(ctx context.Context, name string) error {
	if name == "" || len(name) > MaxName {
		return fmt.Errorf("%w: a name has 1 to %d bytes", ErrInvalid, MaxName)
	}
	return g.propose(ctx, command{Op: opUnregister, Name: name, Val: Name{Node: g.cfg.ID}})
}

func (g *Group) propose(ctx context.Context, c command) error {
	c.Req, c.By = newReq(), g.cfg.ID
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return g.wait(ctx, queued{req: c.Req, data: data})
}

// AddMember adds node id at addr to the cluster (a conf change through the
// log). A duplicate id, or one removed before, is ErrRefused.
func (g *Group) AddMember(ctx context.Context, id uint64, addr string) error {
	if err := validAddr(addr); err != nil {
		return err
	}
	return g.confChange(ctx, pb.ConfChangeAddNode, id, addr)
}

// RemoveMember removes node id from the cluster, for good: its id is never
// admitted again, its names are dropped, and its messages are dropped.
func (g *Group) RemoveMember(ctx context.Context, id uint64) error {
	return g.confChange(ctx, pb.ConfChangeRemoveNode, id, "")
}

func (g *Group) confChange(ctx context.Context, t pb.ConfChangeType, id uint64, addr string) error {
	if id == 0 {
		return fmt.Errorf("%w: node id 0", ErrInvalid)
	}
	req := newReq()
	mc, _ := json.Marshal(memberContext{Addr: addr, Req: req, By: g.cfg.ID})
	return g.wait(ctx, queued{req: req, cc: &pb.ConfChange{Type: t.Enum(), NodeId: new(id), Context: mc}})
}

// wait submits a proposal and waits for its entry to be applied here.
func (g *Group) wait(ctx context.Context, p queued) error {
	done := make(chan error, 1)
	var err error
	if e := g.post(ctx, func() {
		if len(g.waits) >= MaxPending {
			done <- ErrBusy
			return
		}
		g.waits[p.req] = &waiting{ctx: ctx, done: done, p: p}
		g.submit(p)
	}); e != nil {
		return e
	}
	select {
	case err = <-done:
		return err
	case <-g.done:
		return g.err
	case <-ctx.Done():
		g.postNet(func() { delete(g.waits, p.req) })
		return fmt.Errorf("%w: %v", ErrTimeout, ctx.Err())
	}
}

// Lookup returns name's entry, linearizably: the answer reflects every
// write committed before Lookup was called (Raft's ReadIndex, confirmed by a
// quorum; no entry is written).
func (g *Group) Lookup(ctx context.Context, name string) (Name, bool, error) {
	r, err := g.read(ctx, &pendingRead{name: name})
	return r.name, r.found, err
}

// Members returns the membership, linearizably (as Lookup).
func (g *Group) Members(ctx context.Context) (map[uint64]string, error) {
	r, err := g.read(ctx, &pendingRead{all: true})
	return r.members, err
}

func (g *Group) read(ctx context.Context, r *pendingRead) (readResult, error) {
	r.ctx, r.reply = ctx, make(chan readResult, 1)
	id := newReq()
	busy := make(chan error, 1)
	if err := g.post(ctx, func() {
		if len(g.reads) >= MaxPending {
			busy <- ErrBusy
			return
		}
		r.asked = g.ticks
		g.reads[id] = r
		g.rn.ReadIndex(reqBytes(id))
	}); err != nil {
		return readResult{}, err
	}
	select {
	case res := <-r.reply:
		return res, nil
	case err := <-busy:
		return readResult{}, err
	case <-g.done:
		return readResult{}, g.err
	case <-ctx.Done():
		g.postNet(func() { delete(g.reads, id) })
		return readResult{}, fmt.Errorf("%w: %v", ErrTimeout, ctx.Err())
	}
}

// Join asks the members via (node ids the transport can reach) to add this
// node, which must have started with an empty log and no Peers, and returns
// once this node has applied its own admission. ErrNoQuorum when ctx ends
// first; ErrRefused (with the reason) when a member refuses: a duplicate
// id, or one removed before.
func (g *Group) Join(ctx context.Context, via []uint64) error {
	reply := make(chan error, 1)
	if err := g.post(ctx, func() {
		if _, ok := g.state.Members[g.cfg.ID]; ok {
			reply <- nil
			return
		}
		g.join = &pendingJoin{ctx: ctx, via: via, reply: reply}
		g.askJoin()
	}); err != nil {
		return err
	}
	select {
	case err := <-reply:
		return err
	case <-g.done:
		return g.err
	case <-ctx.Done():
		g.postNet(func() { g.join = nil })
		return fmt.Errorf("%w (node %d, asked %v)", ErrNoQuorum, g.cfg.ID, via)
	}
}

func (g *Group) askJoin() {
	g.join.asked = g.ticks
	b, _ := json.Marshal(joinRequest{ID: g.cfg.ID, Addr: g.cfg.Addr})
	for _, to := range g.join.via {
		g.cfg.Transport.Send(to, KindJoin, b) // a peer that does not answer is asked again
	}
}

// onJoin is a member's side of a join: propose adding the node, or refuse.
func (g *Group) onJoin(from uint64, p []byte) {
	var jr joinRequest
	if json.Unmarshal(p, &jr) != nil || jr.ID != from || from == g.cfg.ID {
		g.stats.DroppedBad++
		return
	}
	if _, member := g.state.Members[g.cfg.ID]; !member {
		return // not (yet) a member: it cannot vouch for anyone
	}
	if err := g.state.admit(true, jr.ID, jr.Addr); err != nil {
		b, _ := json.Marshal(joinRefusal{Reason: err.Error()})
		g.cfg.Transport.Send(from, KindRefuse, b)
		return
	}
	if _, ok := g.state.Members[jr.ID]; ok {
		return // already in: the leader's appends will bring it up to date
	}
	if t, ok := g.joining[jr.ID]; ok && g.ticks-t < uint64(g.cfg.ElectionTicks) {
		return
	}
	g.joining[jr.ID] = g.ticks
	mc, _ := json.Marshal(memberContext{Addr: jr.Addr})
	g.submit(queued{cc: &pb.ConfChange{Type: pb.ConfChangeAddNode.Enum(), NodeId: new(jr.ID), Context: mc}})
}

func (g *Group) onRefuse(from uint64, p []byte) {
	var r joinRefusal
	if g.join == nil || json.Unmarshal(p, &r) != nil {
		return
	}
	g.join.reply <- fmt.Errorf("%w by node %d: %s", ErrRefused, from, r.Reason)
	g.join = nil
}

// Stop ends the loop and closes the log. Writes in flight get ErrStopped.
func (g *Group) Stop() {
	select {
	case <-g.stop:
	default:
		close(g.stop)
	}
	<-g.done
}

// Err is why the group stopped (nil while it runs): ErrStopped after Stop,
// ErrRemoved when this node's removal was applied, or a log write's error.
func (g *Group) Err() error {
	select {
	case <-g.done:
		return g.err
	default:
		return nil
	}
}

// Done is closed when the group has stopped.
func (g *Group) Done() <-chan struct{} { return g.done }

// Stats returns the group's counters (the zero Stats once it has stopped).
func (g *Group) Stats() Stats {
	ch := make(chan Stats, 1)
	if g.post(context.Background(), func() {
		s := g.stats
		st := g.rn.BasicStatus()
		s.Applied, s.Term, s.Lead = g.applied, st.HardState.GetTerm(), st.Lead
		s.LogFirst, _ = g.log.mem.FirstIndex()
		ch <- s
	}) != nil {
		return Stats{}
	}
	select {
	case s := <-ch:
		return s
	case <-g.done:
		return Stats{}
	}
}

// localState returns a copy of this node's state machine as applied, with
// no quorum check (tests, and diagnostics).
func (g *Group) localState() *State {
	ch := make(chan *State, 1)
	if g.post(context.Background(), func() { ch <- g.state.clone() }) != nil {
		return nil
	}
	select {
	case s := <-ch:
		return s
	case <-g.done:
		return nil
	}
}
