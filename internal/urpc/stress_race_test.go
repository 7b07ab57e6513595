//go:build race

package urpc

// stressMessages is smaller under the race detector, which slows every
// memory access down by an order of magnitude.
const stressMessages = 1_000_000
