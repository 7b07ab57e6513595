package urpcbench

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// TwoCPUs returns the first two CPUs of the process's affinity mask (CPUs 0
// and 1 on a machine that gives the process all its CPUs).
func TwoCPUs() ([2]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return [2]int{}, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var cpus []int
	for c := 0; c < 1024 && len(cpus) < 2; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return [2]int{}, errors.New("needs two CPUs in the affinity mask")
	}
	return [2]int{cpus[0], cpus[1]}, nil
}

// pin locks the calling goroutine to its OS thread and that thread to cpu.
// The returned function undoes both.
func pin(cpu int) (func(), error) {
	runtime.LockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("sched_setaffinity(cpu %d): %w", cpu, err)
	}
	return func() {
		_ = unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}, nil
}

// pinnedPair runs a on a thread pinned to the first CPU and b on a thread
// pinned to the second, starts them together and returns the times at
// which a called mark (a calls it at the start and at the end of each chunk
// of its work; at most marks times).
func pinnedPair(marks int, a func(mark func()), b func()) ([]time.Time, error) {
	cpus, err := TwoCPUs()
	if err != nil {
		return nil, err
	}
	var ready atomic.Int32
	var failed atomic.Bool
	errs := make(chan error, 2)
	times := make([]time.Time, 0, marks)
	run := func(cpu int, f func()) {
		unpin, err := pin(cpu)
		if err != nil {
			failed.Store(true) // before ready, so the other side sees it
		} else {
			defer unpin()
		}
		ready.Add(1)
		for ready.Load() < 2 {
		}
		if !failed.Load() {
			f()
		}
		errs <- err
	}
	go run(cpus[1], b)
	go run(cpus[0], func() {
		a(func() {
			if len(times) < cap(times) {
				times = append(times, time.Now())
			}
		})
	})
	var first error
	for range 2 {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return times, first
}
