package bench

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"time"
)

// Sizes of the urpc suite's measurements: each trial takes a few tens of
// milliseconds, and the trials of rows that are compared with each other
// are interleaved, so that a burst of noise from the rest of the machine
// falls on both sides of a ratio.
const (
	urpcTrials      = 15
	pingPongRounds  = 20_000
	streamMessages  = 400_000
	goChanRounds    = 50_000
	pipeRounds      = 5_000
	coreMessageRuns = 20_000
)

// URPC is the urpc suite: the physical limit (a cache line bounced between
// two pinned threads, and a raw stream of lines), urpc over the same two
// CPUs, a Go channel and a Linux pipe, with the ratios that issue 3's
// targets are stated in.
func URPC(log io.Writer) ([]Row, error) {
	var raw, ring, stream []float64
	batches := []int{1, 8, 32}
	batch := make([][]float64, len(batches))
	for t := 0; t < urpcTrials; t++ {
		runtime.GC()
		d, err := RawCachelinePingPong(pingPongRounds)
		if err != nil {
			return nil, fmt.Errorf("raw cache line: %w", err)
		}
		raw = append(raw, perOp(d, 2*pingPongRounds))
		if d, err = URPCPingPong(pingPongRounds); err != nil {
			return nil, fmt.Errorf("urpc ping-pong: %w", err)
		}
		ring = append(ring, perOp(d, 2*pingPongRounds))
		if d, err = RawStream(streamMessages); err != nil {
			return nil, fmt.Errorf("raw stream: %w", err)
		}
		stream = append(stream, rate(d, streamMessages))
		for i, b := range batches {
			if d, err = URPCStream(streamMessages, b); err != nil {
				return nil, fmt.Errorf("urpc batch %d: %w", b, err)
			}
			batch[i] = append(batch[i], rate(d, streamMessages))
		}
	}
	gochan := perOp(GoChanPingPong(goChanRounds), goChanRounds)
	pipe, err := LinuxPipePingPong(pipeRounds)
	if err != nil {
		return nil, fmt.Errorf("linux pipe: %w", err)
	}

	rawNs, urpcNs, streamRate := least(raw), least(ring), most(stream)
	rows := []Row{
		{"raw_cacheline_oneway_ns", rawNs, "ns"},
		{"urpc_oneway_ns", urpcNs, "ns"},
	}
	core, ok, err := coreMessageOneway(coreMessageRuns)
	switch {
	case err != nil:
		return nil, fmt.Errorf("core message: %w", err)
	case ok:
		rows = append(rows, Row{"core_message_oneway_ns", core, "ns"})
	default:
		fmt.Fprintln(log, "bench urpc: core_message_oneway_ns not measured: internal/kernel has no MeasureCoreMessage yet")
	}
	rows = append(rows,
		Row{"raw_stream_msgs_per_s", streamRate, "msgs/s"},
		Row{"urpc_batch_1_msgs_per_s", most(batch[0]), "msgs/s"},
		Row{"urpc_batch_8_msgs_per_s", most(batch[1]), "msgs/s"},
		Row{"urpc_batch_32_msgs_per_s", most(batch[2]), "msgs/s"},
		Row{"gochan_pingpong_ns", gochan, "ns"},
		Row{"linux_pipe_pingpong_cross_ns", float64(pipe.Nanoseconds()), "ns"},
		// The targets of issue 3, as ratios within this run.
		Row{"urpc_vs_raw_ratio", urpcNs / rawNs, "x (target <= 1.3)"},
	)
	if ok {
		rows = append(rows, Row{"core_message_vs_raw_ratio", core / rawNs, "x (target <= 2)"})
	}
	rows = append(rows,
		Row{"pipe_vs_urpc_roundtrip_ratio", float64(pipe.Nanoseconds()) / (2 * urpcNs), "x (target >= 20)"},
		Row{"urpc_batch_32_vs_raw_stream_ratio", most(batch[2]) / streamRate, "x (target >= 0.5)"},
		// How noisy the run was: the median trial beside the best one.
		Row{"raw_cacheline_oneway_median_ns", median(raw), "ns"},
		Row{"urpc_oneway_median_ns", median(ring), "ns"},
		Row{"raw_stream_median_msgs_per_s", median(stream), "msgs/s"},
		Row{"urpc_batch_32_median_msgs_per_s", median(batch[2]), "msgs/s"},
	)
	return rows, nil
}

func perOp(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / float64(n) }

func rate(d time.Duration, n int) float64 { return float64(n) / d.Seconds() }

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func least(xs []float64) float64 { return slices.Min(xs) }

func most(xs []float64) float64 { return slices.Max(xs) }
