package sched_test

import (
	"fmt"

	"isle/internal/sched"
)

// The kernel loop's duties towards its run queue: Enqueue what becomes
// runnable, and at every switch Pick, run for at most SliceLeft, Charge
// what was used; Dequeue what blocks, exits or migrates.
func Example_kernelLoop() {
	q := sched.NewRunQueue(sched.Config{})
	editor := &sched.Entity{ID: 1}          // nice 0
	batch := &sched.Entity{ID: 2, Nice: 10} // weight 110 against 1024
	q.Enqueue(editor)
	q.Enqueue(batch)

	ran := map[uint64]sched.Duration{}
	var now sched.Time
	for now < sched.Time(sched.Second) {
		e := q.Pick()
		budget := q.SliceLeft(e) // the preemption hook's budget
		q.Charge(e, budget)      // the SIP used all of it
		ran[e.ID] += budget
		now += sched.Time(budget)
	}
	fmt.Printf("editor %.1f%%, batch %.1f%% (weights say %.1f%% and %.1f%%)\n",
		100*float64(ran[1])/float64(now), 100*float64(ran[2])/float64(now),
		100*1024.0/1134, 100*110.0/1134)

	// Balancing: each tick a core broadcasts its summary; an idle core
	// decides to steal, and the victim chooses what to give.
	self := q.Summary(0, sched.FullCapacity, now)
	idle := sched.LoadSummary{Core: 1, Capacity: sched.FullCapacity, At: now}
	d := sched.Decide(idle, []sched.LoadSummary{self}, now, sched.BalanceConfig{})
	fmt.Println(d.Action, "from core", d.Target)
	if e := sched.Choose(q, self, idle, sched.BalanceConfig{}); e != nil {
		q.Dequeue(e) // and send it, with its lag, to core 1
		fmt.Println("give entity", e.ID)
	}
	// Output:
	// editor 90.3%, batch 9.7% (weights say 90.3% and 9.7%)
	// steal from core 0
	// give entity 2
}
