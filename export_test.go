package isle

import "time"

// LoaderCompiles is how many modules m's loader has compiled: the
// external tests' view of the machine's program cache.
func LoaderCompiles(m *Machine) int { return m.loader.Compiles() }

// WithSliceForTest gives the machine's SIPs a base slice of d: a test
// whose golden trace wants no switch the host's stalls could add (a yield
// past its slice goes through the loop) runs with a slice no stall reaches.
func WithSliceForTest(c Config, d time.Duration) Config { c.slice = d; return c }
