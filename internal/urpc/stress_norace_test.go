//go:build !race

package urpc

// stressMessages is the number of messages of TestMeshStress.
const stressMessages = 10_000_000
