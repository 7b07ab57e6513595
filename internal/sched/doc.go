// Package sched is isle's scheduling policy: a per-core EEVDF run queue, the
// balancing decisions that move entities between cores by messages, and the
// no-wasted-cores checker. It is pure: it starts no goroutine, reads no clock
// and does no I/O. Time is passed in as int64 nanoseconds (Time, Duration);
// the kernel loop feeds it and performs the effects, and tests drive it with
// fake time.
//
// # The run queue (runqueue.go)
//
// One RunQueue per core, owned by that core; nothing else touches it. An
// Entity is embedded in or owned by the caller's process record (a SIP); it
// is queued in at most one RunQueue at a time, and while it is queued only
// that queue's owner may touch it. When a SIP migrates, the core that
// took it out (RunQueue.Migrate) sends the Entity with the SIP: its debt
// travels with it, not a credit.
//
// The rules are those of EEVDF (Stoica & Abdel-Wahab 1995) as Linux 6.6+
// implements them:
//
//   - weight: from Entity.Nice through Linux's sched_prio_to_weight table
//     (nice 0 = 1024, nice -20 = 88761, nice 19 = 15), read at Enqueue;
//   - virtual runtime: running for d ns advances an entity's vruntime by
//     d*1024/weight (Charge; the remainder is kept, so nothing is lost);
//   - V, the queue's weighted average vruntime, Σ w_i·v_i / Σ w_i over every
//     queued entity, the running one included;
//   - lag = V − vruntime; an entity is eligible when its lag ≥ 0;
//   - virtual deadline = vruntime + slice*1024/weight, renewed when the
//     entity's vruntime reaches it;
//   - Pick returns the eligible entity with the earliest virtual deadline
//     (ties: smaller vruntime, then earlier enqueue);
//   - Dequeue saves the entity's lag, clamped to ±2 slices (in its virtual
//     time); Enqueue places it back at V − lag·(W+w)/W so that its lag after
//     joining is what it was when it left (Linux's place_entity); a new
//     entity starts with lag 0 and half a slice to its first deadline;
//   - a debt (negative lag) is paid off while the entity sleeps, by however
//     far V advances until it wakes on the same queue (the effect of Linux's
//     delayed dequeue); a migrating entity keeps a debt, not a credit
//     (Migrate).
//
// The kernel's duties: Enqueue an entity when it becomes runnable (spawn,
// wake-up, migration in); at every switch point Pick, run the entity for at
// most SliceLeft(e), then Charge(e, ran) with the CPU time it received;
// Dequeue it when it blocks, exits or migrates away. The running entity stays
// queued (it counts in V and in Load). Pick does not modify the queue, so it
// may be called again after a wake-up to decide on preemption. Enqueue,
// Dequeue, Charge and Pick allocate nothing and take O(log n).
//
// # Balancing (balance.go)
//
// Each core periodically broadcasts a LoadSummary of its queue. Decide turns
// the latest summaries a core has seen into at most one action: an idle core
// asks the busiest core for work (Steal), a core with work waiting pushes to
// a less-loaded one (Push). Choose picks which entity to give away, on a
// steal request or a push; Place picks the core for a waking or new entity.
// Load is weighed by capacity (1024 = a full core). The rules are written at
// the top of balance.go.
//
// # The no-wasted-cores checker (wasted.go)
//
// Checker is fed with per-core observations (idle, or busy with k entities
// waiting) and counts every interval longer than a bound (10 ms by default)
// during which one core was idle the whole time while another had entities
// waiting the whole time (Lozi et al., EuroSys 2016).
//
// # Ownership
//
// A RunQueue and a Checker belong to one core (the checker to whichever core
// or observer feeds it); none of the types here is safe for concurrent use,
// and none needs to be: cores exchange LoadSummary values and Entities by
// message. The package has no mutable package-level state (prioToWeight is a
// read-only table).
package sched
