package sched

// Time is a point in time in nanoseconds, from any origin the caller likes.
type Time int64

// Duration is a span of time in nanoseconds.
type Duration int64

// Common durations.
const (
	Nanosecond  Duration = 1
	Microsecond          = 1000 * Nanosecond
	Millisecond          = 1000 * Microsecond
	Second               = 1000 * Millisecond
)

// Nice values and weights.
const (
	MinNice = -20
	MaxNice = 19
	// NiceZeroWeight is the weight of a nice-0 entity, and the unit of
	// virtual time: a nice-0 entity's vruntime advances at the rate of real
	// time.
	NiceZeroWeight = 1024
	// FullCapacity is the capacity of a full core.
	FullCapacity = 1024
)

// prioToWeight is Linux's sched_prio_to_weight (kernel/sched/core.c):
// each nice step is about ×1.25 in weight, so that one nice level is about
// 10% of CPU between two entities. Read-only.
var prioToWeight = [MaxNice - MinNice + 1]int64{
	/* -20 */ 88761, 71755, 56483, 46273, 36291,
	/* -15 */ 29154, 23254, 18705, 14949, 11916,
	/* -10 */ 9548, 7620, 6100, 4904, 3906,
	/*  -5 */ 3121, 2501, 1991, 1586, 1277,
	/*   0 */ 1024, 820, 655, 526, 423,
	/*   5 */ 335, 272, 215, 172, 137,
	/*  10 */ 110, 87, 70, 56, 45,
	/*  15 */ 36, 29, 23, 18, 15,
}

// NiceToWeight returns the weight of a nice value; values outside
// [MinNice, MaxNice] are clamped into it.
func NiceToWeight(nice int) int64 {
	nice = min(max(nice, MinNice), MaxNice)
	return prioToWeight[nice-MinNice]
}
