package contract

import (
	"fmt"
	"strings"
	"testing"
)

// ring returns n contracts in a ring, each carrying an endpoint of the next,
// so that every contract reaches all the others (the worst case for
// fingerprints).
func ring(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "contract C%d {\n  msg M(e exp<C%d>)\n  initial final state S { imp M -> S }\n}\n", i, (i+1)%n)
	}
	return []byte(b.String())
}

// TestRingFingerprints: in a ring every contract reaches every other, so
// each fingerprint covers the whole ring, and they still differ (each starts
// from its own contract).
func TestRingFingerprints(t *testing.T) {
	set, diags := CompileSource("ring", ring(50))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	seen := map[[32]byte]string{}
	for i := range 50 {
		name := fmt.Sprintf("C%d", i)
		fp := set.Lookup(name).Fingerprint()
		if other, ok := seen[fp]; ok {
			t.Fatalf("%s and %s share a fingerprint", name, other)
		}
		seen[fp] = name
	}
	again, _ := CompileSource("ring", ring(50))
	if again.Lookup("C7").Fingerprint() != set.Lookup("C7").Fingerprint() {
		t.Error("the same source compiled twice gave two fingerprints")
	}
}

// BenchmarkCompileRing compiles a 59 KB ring of 760 contracts, the source
// that took 1.5-2.9 s a channel_create when each fingerprint normalised the
// whole ring again.
func BenchmarkCompileRing(b *testing.B) {
	src := ring(760)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, diags := CompileSource("ring", src); len(diags) > 0 {
			b.Fatal(diags)
		}
	}
}
