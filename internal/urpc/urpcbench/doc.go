// Package urpcbench holds the measurements of the urpc benchmark suite:
// urpc between two pinned threads beside the raw cache-line baselines, a Go
// channel and a Linux pipe. Package bench (`isle bench urpc`) runs them in
// one run and computes the ratios; internal/urpc's `go test -bench` runs the
// same functions. It depends on nothing of isle but urpc, so that a build
// break elsewhere does not stop urpc's own tests.
package urpcbench
