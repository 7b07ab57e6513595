package urpcbench

import (
	"fmt"
	"testing"
)

// TestMeasurementsAgree runs each measurement briefly: they must finish,
// check their own data, and return positive times.
func TestMeasurementsAgree(t *testing.T) {
	if _, err := TwoCPUs(); err != nil {
		t.Skip(err)
	}
	check := func(name string, f func() (float64, error)) {
		v, err := f()
		if err != nil || v <= 0 {
			t.Errorf("%s = %v, %v", name, v, err)
		}
	}
	samples := func(s Samples, err error) (float64, error) {
		if err == nil && len(s.Chunks) != 3 {
			return 0, fmt.Errorf("%d chunks, want 3", len(s.Chunks))
		}
		return float64(s.Total()), err
	}
	check("raw", func() (float64, error) { return samples(RawCachelinePingPong(3, 300)) })
	check("twoline", func() (float64, error) { return samples(RawTwoLinePingPong(3, 300)) })
	check("urpc", func() (float64, error) { return samples(URPCPingPong(3, 300)) })
	check("rawstream", func() (float64, error) { return samples(RawStream(3, 3000)) })
	for _, b := range []int{1, 8, 32} {
		check("urpcstream", func() (float64, error) { return samples(URPCStream(3, 3000, b)) })
	}
	check("gochan", func() (float64, error) { return float64(GoChanPingPong(1000)), nil })
}
