//go:build !linux

package urpc

func registerMembarrier() bool { return false }

func membarrier() { panic("urpc: membarrier without Linux") }
