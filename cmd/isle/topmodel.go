package main

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"isle"
)

// The model of `isle top`, pure: two snapshots in, rows and their order
// out. top.go draws it and feeds it.

// topCol is a column of the SIP table.
type topCol int

// The SIP table's columns, in the order drawn.
const (
	colPID topCol = iota
	colName
	colCore
	colState
	colCPU
	colNice
	colMsgs
	colTime
	numCols
)

// colInfo is a column's header, width and whether it sorts high first.
func colInfo(c topCol) (head string, width int, highFirst bool) {
	switch c {
	case colPID:
		return "PID", 7, false
	case colName:
		return "NAME", 20, false
	case colCore:
		return "CORE", 5, false
	case colState:
		return "S", 2, false
	case colCPU:
		return "CPU%", 7, true
	case colNice:
		return "NI", 4, false
	case colMsgs:
		return "MSGS", 10, true
	default:
		return "TIME+", 10, true
	}
}

// coreRow is one core's line: rates over the last interval.
type coreRow struct {
	Core     int
	Busy     float64 // % of the interval spent running SIPs
	RunQueue int
	InPerS   float64 // urpc messages received a second
	OutPerS  float64 // sent a second
	Migr     uint64  // migrations in and out since boot
	Wasted   uint64  // wasted-core intervals since boot
}

// sipRow is one SIP's line.
type sipRow struct {
	isle.SIPSnapshot
	CPU float64 // % of one core over the interval
}

// coreRows computes each core's rates between prev and cur; with no prev
// (the first snapshot) the rates are over the time since boot.
func coreRows(prev, cur isle.Snapshot) []coreRow {
	out := make([]coreRow, len(cur.Cores))
	for i, c := range cur.Cores {
		var p isle.CoreSnapshot
		if i < len(prev.Cores) && prev.Cores[i].Core == c.Core {
			p = prev.Cores[i]
		}
		dt := float64(c.At - p.At)
		r := coreRow{Core: c.Core, RunQueue: c.RunQueue, Migr: c.MigratedIn + c.MigratedOut, Wasted: c.Wasted}
		if dt > 0 {
			r.Busy = min(100, 100*float64(c.Busy-p.Busy)/dt)
			r.InPerS = float64(c.MsgsRecv-p.MsgsRecv) * 1e9 / dt
			r.OutPerS = float64(c.MsgsSent-p.MsgsSent) * 1e9 / dt
		}
		out[i] = r
	}
	return out
}

// interval is the machine time between two snapshots (core 0's), or since
// boot for the first.
func interval(prev, cur isle.Snapshot) int64 {
	if len(cur.Cores) == 0 {
		return 0
	}
	if len(prev.Cores) == 0 {
		return cur.Cores[0].At
	}
	return cur.Cores[0].At - prev.Cores[0].At
}

// sipRows computes each SIP's CPU % between prev and cur (a SIP new since
// prev ran all its time in the interval), sorted by col.
func sipRows(prev, cur isle.Snapshot, col topCol, invert bool) []sipRow {
	before := map[int64]int64{}
	for _, s := range prev.SIPs {
		before[s.PID] = s.CPUTime
	}
	dt := float64(interval(prev, cur))
	out := make([]sipRow, len(cur.SIPs))
	for i, s := range cur.SIPs {
		out[i] = sipRow{SIPSnapshot: s}
		if dt > 0 {
			out[i].CPU = min(100, 100*float64(s.CPUTime-before[s.PID])/dt)
		}
	}
	_, _, high := colInfo(col)
	slices.SortStableFunc(out, func(a, b sipRow) int {
		c := compareBy(col, a, b)
		if high != invert {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.PID, b.PID))
	})
	return out
}

func compareBy(col topCol, a, b sipRow) int {
	switch col {
	case colName:
		return strings.Compare(shortName(a.Name), shortName(b.Name))
	case colCore:
		return cmp.Compare(a.Core, b.Core)
	case colState:
		return strings.Compare(a.State, b.State)
	case colCPU:
		return cmp.Compare(a.CPU, b.CPU)
	case colNice:
		return cmp.Compare(a.Nice, b.Nice)
	case colMsgs:
		return cmp.Compare(a.Msgs, b.Msgs)
	case colTime:
		return cmp.Compare(a.CPUTime, b.CPUTime)
	default:
		return cmp.Compare(a.PID, b.PID)
	}
}

// shortName is a SIP's name as top shows it: its program's base name.
func shortName(name string) string { return filepath.Base(name) }

// cell formats one SIP's column.
func cell(col topCol, r sipRow) string {
	switch col {
	case colPID:
		return fmt.Sprint(r.PID)
	case colName:
		return shortName(r.Name)
	case colCore:
		return fmt.Sprint(r.Core)
	case colState:
		return r.State
	case colCPU:
		return fmt.Sprintf("%.1f", r.CPU)
	case colNice:
		return fmt.Sprint(r.Nice)
	case colMsgs:
		return fmt.Sprint(r.Msgs)
	default:
		return cpuTime(r.CPUTime)
	}
}

// cpuTime formats ns as top's TIME+: minutes:seconds.hundredths.
func cpuTime(ns int64) string {
	cs := ns / 1e7
	return fmt.Sprintf("%d:%02d.%02d", cs/6000, cs/100%60, cs%100)
}

// sortKey maps htop's sort shortcuts to columns: P by CPU, M by messages
// (htop's M sorts by memory, which isle's table has not: messages are the
// nearest thing a SIP piles up), T by time, N by pid.
func sortKey(key string) (topCol, bool) {
	switch key {
	case "P":
		return colCPU, true
	case "M":
		return colMsgs, true
	case "T":
		return colTime, true
	case "N":
		return colPID, true
	}
	return 0, false
}
