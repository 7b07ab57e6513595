package sched

// Group scheduling, as Linux's autogroup gives each session one share:
// entities may belong to a group (for isle, the SIPs descended from one SIP
// that the embedder spawned), and a group as a whole weighs what one entity
// of its nice would, however many members it has runnable. Fifty spinners
// that one program spawns then share one entity's part of the machine with
// the program beside them, instead of taking fifty parts of it.
//
// The hierarchy is flattened, not nested: each member is queued with the
// weight GroupShare gives it, its part of the group's weight in proportion
// to its own weight among the group's runnable members on every core
// (Linux's calc_group_shares does the same with the group's load across
// CPUs). A group's members on one core then weigh in all what the group's
// members there are owed, its members keep their ratios among themselves
// (nice still works inside a group), and the run queue and the balancing
// rules stay as they are: they see weights, and the weights are already the
// groups'. A group of one member weighs exactly what the member's nice
// gives.
//
// The caller keeps each group's load (the sum of its runnable members' own
// weights, NiceToWeight of their nice, machine-wide) and recomputes a
// member's share when it is enqueued and whenever the load may have moved
// (the kernel: at every switch of the member and every balancing tick, for
// the members its queue holds), setting it with Entity.Share at Enqueue and
// RunQueue.Reweigh while queued. Between two recomputations a share is
// stale by whatever the group's load did meanwhile; the balancer corrects
// what that costs at its next tick.

// MinShare is the least weight GroupShare gives a member (Linux's
// MIN_SHARES): a member of a huge group still runs now and then.
const MinShare = 2

// GroupShare returns the weight of a member of own weight w in a group of
// weight group whose runnable members weigh load in all (w included; a
// load below w is taken as w): group·w/load, at least MinShare.
func GroupShare(group, w, load int64) int64 {
	if w <= 0 || group <= 0 {
		return MinShare
	}
	if load <= w {
		// The member is the group's only load: group·w/w, with no
		// division (every yield and wake-up reshares).
		return max(group, MinShare)
	}
	return max(group*w/load, MinShare)
}
