//go:build !amd64

package urpc

// Pause is a spin-loop hint; elsewhere than amd64 it does nothing.
func Pause() {}
