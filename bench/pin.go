package bench

import "isle/internal/urpc/urpcbench"

// twoCPUs returns the first two CPUs of the process's affinity mask.
func twoCPUs() ([2]int, error) { return urpcbench.TwoCPUs() }
