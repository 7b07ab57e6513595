package urpc_test

import (
	"os"
	"testing"

	"isle/internal/urpc/urpcbench"
)

// The rows of `isle bench urpc`, from `go test -bench`: the same
// measurements (package urpcbench), sized by b.N. Each reports its figure under
// the unit of its row and hides the default ns/op, which would include the
// warm-up.

func report(b *testing.B, v float64, unit string, err error) {
	b.Helper()
	if err != nil {
		b.Skip(err)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(v, unit)
}

func oneway(s urpcbench.Samples) float64 {
	return float64(s.Total().Nanoseconds()) / float64(2*s.Per*len(s.Chunks))
}

func rate(s urpcbench.Samples) float64 {
	return float64(s.Per*len(s.Chunks)) / s.Total().Seconds()
}

func BenchmarkRawCachelineOneway(b *testing.B) {
	s, err := urpcbench.RawCachelinePingPong(1, b.N)
	report(b, oneway(s), "raw_cacheline_oneway_ns", err)
}

func BenchmarkRawTwoLineOneway(b *testing.B) {
	s, err := urpcbench.RawTwoLinePingPong(1, b.N)
	report(b, oneway(s), "raw_twoline_oneway_ns", err)
}

func BenchmarkURPCOneway(b *testing.B) {
	s, err := urpcbench.URPCPingPong(1, b.N)
	report(b, oneway(s), "urpc_oneway_ns", err)
}

func BenchmarkRawStream(b *testing.B) {
	s, err := urpcbench.RawStream(1, b.N)
	report(b, rate(s), "raw_stream_msgs_per_s", err)
}

func BenchmarkURPCBatch1(b *testing.B)  { benchBatch(b, 1, "urpc_batch_1_msgs_per_s") }
func BenchmarkURPCBatch8(b *testing.B)  { benchBatch(b, 8, "urpc_batch_8_msgs_per_s") }
func BenchmarkURPCBatch32(b *testing.B) { benchBatch(b, 32, "urpc_batch_32_msgs_per_s") }

func benchBatch(b *testing.B, batch int, unit string) {
	s, err := urpcbench.URPCStream(1, b.N, batch)
	report(b, rate(s), unit, err)
}

func BenchmarkGoChanPingPong(b *testing.B) {
	d := urpcbench.GoChanPingPong(b.N)
	report(b, float64(d.Nanoseconds())/float64(b.N), "gochan_pingpong_ns", nil)
}

func BenchmarkLinuxPipePingPongCross(b *testing.B) {
	src, err := os.ReadFile("../../bench/linux/pipe_pingpong.c")
	if err != nil {
		b.Fatal(err)
	}
	d, err := urpcbench.LinuxPipePingPong(src, b.N)
	report(b, float64(d.Nanoseconds()), "linux_pipe_pingpong_cross_ns", err)
}

// core_message_oneway_ns needs a booted machine: it comes from package
// bench (`isle bench urpc`), which may import the kernel; this package may not.
