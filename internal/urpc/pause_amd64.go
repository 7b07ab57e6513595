package urpc

// Pause tells the CPU that the caller is spinning on memory another core
// will write (x86's PAUSE): it lowers the power and the pipeline resources
// the spin takes from a sibling hardware thread, and the memory-order
// mis-speculation penalty when the awaited line arrives. Poll loops call it
// once a turn.
//
//go:noescape
func Pause()
