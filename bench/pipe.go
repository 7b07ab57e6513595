package bench

import (
	_ "embed"
	"time"

	"isle/internal/urpc/urpcbench"
)

//go:embed linux/pipe_pingpong.c
var pipePingPongC []byte

// LinuxPipePingPong runs bench/linux/pipe_pingpong.c, compiled with the
// system's cc: the mean round trip of a byte through a pair of pipes between
// two processes pinned to different CPUs.
func LinuxPipePingPong(n int) (time.Duration, error) {
	return urpcbench.LinuxPipePingPong(pipePingPongC, n)
}
