// Package goexec is a small package whose tests are run on isle through
// `go test -exec isle-go-exec` (cmd/isle-go-exec's test): they need what
// go_wasip1_wasm_exec gives a runtime — the host's files by absolute and
// relative paths, the environment, a deep stack.
package goexec

// Depth recurses n calls deep and returns n.
func Depth(n int) int {
	if n == 0 {
		return 0
	}
	return 1 + Depth(n-1)
}
