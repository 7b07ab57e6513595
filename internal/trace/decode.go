package trace

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Decode reads back what Export writes (and the same messages from any
// Perfetto trace: other packets and fields are skipped). It is what `isle
// trace` reports from, and what the export's tests check the encoding with.

// Record is one decoded ftrace event.
type Record struct {
	CPU  int
	Time int64
	PID  int64  // FtraceEvent.pid: the thread running when it happened
	Kind string // "sched_switch", "sched_wakeup", "sched_wakeup_new", "cpu_idle"

	PrevComm, NextComm string // sched_switch
	PrevPID, NextPID   int64
	PrevPrio, NextPrio int64
	PrevState          int64

	Comm      string // sched_wakeup
	WakePID   int64
	Prio      int64
	TargetCPU int

	IdleState uint64 // cpu_idle
}

// Decoded is a decoded trace.
type Decoded struct {
	Procs   []Proc   // from ProcessTree (Name: the thread's name, or else the cmdline)
	Records []Record // in file order
	Lost    map[int]uint64
	CPUs    int // 1 + the highest cpu seen

	Tracks      map[uint64]Track // TrackDescriptors by uuid
	TrackEvents []TrackRecord    // in file order
}

// Track is one decoded TrackDescriptor.
type Track struct {
	Name    string
	PID     int64 // a thread's track: its tid; else 0
	Counter bool
}

// TrackRecord is one decoded TrackEvent.
type TrackRecord struct {
	Time  int64
	Track uint64
	Type  int // SliceBegin, SliceEnd, Instant, Counter
	Name  string
	Value int64    // Counter
	Flows []uint64 // flow_ids
	Terms []uint64 // terminating_flow_ids
	Errno int64    // the "errno" debug annotation; 0: none
	Args  []Arg    // the integer debug annotations, errno's included
}

// Arg is one integer debug annotation of a TrackEvent.
type Arg struct {
	Name  string
	Value int64
}

// Arg returns the value of r's annotation name, and whether it has one.
func (r TrackRecord) Arg(name string) (int64, bool) {
	for _, a := range r.Args {
		if a.Name == name {
			return a.Value, true
		}
	}
	return 0, false
}

// maxCPUs bounds the cpu numbers a trace may name: a hostile file must not
// make the report allocate a table of four billion cores.
const maxCPUs = 1 << 16

// ErrNotTrace is returned for input that is not a Perfetto trace.
var ErrNotTrace = errors.New("not a Perfetto trace")

// Decode parses a trace.
func Decode(b []byte) (*Decoded, error) {
	d := &Decoded{Lost: map[int]uint64{}, Tracks: map[uint64]Track{}}
	names := map[int64]int{} // pid → index in Procs
	packets := 0
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != fTracePacket || typ != protowire.BytesType {
			if packets == 0 {
				return nil, ErrNotTrace
			}
			return nil, fmt.Errorf("%w: what follows packet %d is not a packet", ErrNotTrace, packets)
		}
		b = b[n:]
		pkt, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, errors.New("truncated trace: a packet runs past the end of the file")
		}
		b = b[n:]
		if err := d.packet(pkt, names); err != nil {
			return nil, err
		}
		packets++
	}
	if packets == 0 {
		return nil, fmt.Errorf("%w: empty", ErrNotTrace)
	}
	return d, nil
}

// fields calls f for each field of message m.
func fields(m []byte, f func(num protowire.Number, typ protowire.Type, v uint64, bytes []byte) error) error {
	for len(m) > 0 {
		num, typ, n := protowire.ConsumeTag(m)
		if n < 0 {
			return fmt.Errorf("%w: bad field tag", ErrNotTrace)
		}
		m = m[n:]
		var v uint64
		var bytes []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(m)
		case protowire.BytesType:
			bytes, n = protowire.ConsumeBytes(m)
		default:
			n = protowire.ConsumeFieldValue(num, typ, m)
		}
		if n < 0 {
			return fmt.Errorf("%w: bad field %d", ErrNotTrace, num)
		}
		m = m[n:]
		if err := f(num, typ, v, bytes); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decoded) packet(pkt []byte, names map[int64]int) error {
	var ts int64
	var te []byte
	err := fields(pkt, func(num protowire.Number, typ protowire.Type, v uint64, m []byte) error {
		switch {
		case num == fPacketFtrace && typ == protowire.BytesType:
			return d.bundle(m)
		case num == fPacketProcessTree && typ == protowire.BytesType:
			return d.tree(m, names)
		case num == fPacketTimestamp && typ == protowire.VarintType:
			ts = int64(v)
		case num == fPacketTrackEvent && typ == protowire.BytesType:
			te = m
		case num == fPacketTrackDesc && typ == protowire.BytesType:
			return d.descriptor(m)
		}
		return nil
	})
	if err != nil || te == nil {
		return err
	}
	return d.trackEvent(ts, te)
}

func (d *Decoded) descriptor(m []byte) error {
	var uuid uint64
	var tr Track
	err := fields(m, func(num protowire.Number, typ protowire.Type, v uint64, sub []byte) error {
		switch {
		case num == fDescUUID:
			uuid = v
		case num == fDescName && typ == protowire.BytesType:
			tr.Name = string(sub)
		case num == fDescCounter && typ == protowire.BytesType:
			tr.Counter = true
		case num == fDescThread && typ == protowire.BytesType:
			return fields(sub, func(f protowire.Number, t protowire.Type, v uint64, s []byte) error {
				switch {
				case f == fTDTID:
					tr.PID = int64(int32(v))
				case f == fTDName && t == protowire.BytesType && tr.Name == "":
					tr.Name = string(s)
				}
				return nil
			})
		}
		return nil
	})
	if err == nil {
		d.Tracks[uuid] = tr
	}
	return err
}

func (d *Decoded) trackEvent(ts int64, m []byte) error {
	r := TrackRecord{Time: ts}
	err := fields(m, func(num protowire.Number, typ protowire.Type, v uint64, sub []byte) error {
		switch {
		case num == fTEType:
			r.Type = int(min(v, 1<<16))
		case num == fTETrack:
			r.Track = v
		case num == fTEName && typ == protowire.BytesType:
			r.Name = string(sub)
		case num == fTECounter:
			r.Value = int64(v)
		case num == fTEDebug && typ == protowire.BytesType:
			var a Arg
			err := fields(sub, func(f protowire.Number, typ protowire.Type, v uint64, b []byte) error {
				switch {
				case f == fDAInt:
					a.Value = int64(v)
				case f == fDAName && typ == protowire.BytesType:
					a.Name = string(b)
				}
				return nil
			})
			if a.Name == "errno" {
				r.Errno = a.Value
			}
			r.Args = append(r.Args, a)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Flows are fixed64, whose values fields skips: read them here (fields
	// has checked that every field of m is whole).
	for len(m) > 0 {
		num, typ, n := protowire.ConsumeTag(m)
		m = m[n:]
		if typ == protowire.Fixed64Type && (num == fTEFlow || num == fTETermFlow) {
			v, _ := protowire.ConsumeFixed64(m)
			if num == fTEFlow {
				r.Flows = append(r.Flows, v)
			} else {
				r.Terms = append(r.Terms, v)
			}
		}
		m = m[protowire.ConsumeFieldValue(num, typ, m):]
	}
	d.TrackEvents = append(d.TrackEvents, r)
	return nil
}

func (d *Decoded) tree(m []byte, names map[int64]int) error {
	return fields(m, func(num protowire.Number, typ protowire.Type, _ uint64, sub []byte) error {
		if typ != protowire.BytesType || (num != fTreeProcesses && num != fTreeThreads) {
			return nil
		}
		var p Proc
		var name string
		err := fields(sub, func(f protowire.Number, _ protowire.Type, v uint64, s []byte) error {
			switch {
			case f == fProcPID: // = fThreadTID
				p.PID = int64(int32(v))
			case num == fTreeProcesses && f == fProcPPID:
				p.Parent = int64(int32(v))
			case num == fTreeProcesses && f == fProcCmdline && name == "":
				name = string(s)
			case num == fTreeThreads && f == fThreadName:
				name = string(s)
			}
			return nil
		})
		if err != nil {
			return err
		}
		i, ok := names[p.PID]
		if !ok {
			names[p.PID] = len(d.Procs)
			d.Procs = append(d.Procs, Proc{PID: p.PID, Name: name, Parent: p.Parent})
			return nil
		}
		if name != "" {
			d.Procs[i].Name = name
		}
		if num == fTreeProcesses {
			d.Procs[i].Parent = p.Parent
		}
		return nil
	})
}

func (d *Decoded) bundle(m []byte) error {
	cpu := 0
	var events [][]byte
	err := fields(m, func(num protowire.Number, typ protowire.Type, v uint64, sub []byte) error {
		switch num {
		case fBundleCPU:
			if v >= maxCPUs {
				return fmt.Errorf("%w: cpu %d", ErrNotTrace, v)
			}
			cpu = int(v)
		case fBundleEvent:
			events = append(events, sub)
		case fBundleLost:
			d.Lost[cpu] += v
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.CPUs = max(d.CPUs, cpu+1)
	for _, e := range events {
		r := Record{CPU: cpu}
		if err := r.decode(e); err != nil {
			return err
		}
		if r.Kind != "" {
			d.Records = append(d.Records, r)
		}
	}
	return nil
}

func (r *Record) decode(e []byte) error {
	return fields(e, func(num protowire.Number, typ protowire.Type, v uint64, sub []byte) error {
		switch num {
		case fEventTimestamp:
			r.Time = int64(v)
		case fEventPID:
			r.PID = int64(v)
		case fEventSchedSwitch:
			r.Kind = "sched_switch"
			return fields(sub, r.switchField)
		case fEventSchedWakeup, fEventWakeupNew:
			r.Kind = "sched_wakeup"
			if num == fEventWakeupNew {
				r.Kind = "sched_wakeup_new"
			}
			return fields(sub, r.wakeupField)
		case fEventCPUIdle:
			r.Kind = "cpu_idle"
			return fields(sub, func(f protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
				if f == fIdleState {
					r.IdleState = v
				}
				return nil
			})
		}
		return nil
	})
}

func (r *Record) switchField(f protowire.Number, _ protowire.Type, v uint64, s []byte) error {
	switch f {
	case fSwitchPrevComm:
		r.PrevComm = string(s)
	case fSwitchPrevPID:
		r.PrevPID = int64(int32(v))
	case fSwitchPrevPrio:
		r.PrevPrio = int64(int32(v))
	case fSwitchPrevState:
		r.PrevState = int64(v)
	case fSwitchNextComm:
		r.NextComm = string(s)
	case fSwitchNextPID:
		r.NextPID = int64(int32(v))
	case fSwitchNextPrio:
		r.NextPrio = int64(int32(v))
	}
	return nil
}

func (r *Record) wakeupField(f protowire.Number, _ protowire.Type, v uint64, s []byte) error {
	switch f {
	case fWakeupComm:
		r.Comm = string(s)
	case fWakeupPID:
		r.WakePID = int64(int32(v))
	case fWakeupPrio:
		r.Prio = int64(int32(v))
	case fWakeupTargetCPU:
		r.TargetCPU = int(int32(v))
	}
	return nil
}
