package bench

// coreMessageOneway measures a message between the kernel loops of two
// cores of a booted machine, one way, in nanoseconds. It reports false when
// the kernel does not offer the measurement.
//
// TODO(lead): when internal/kernel exposes
//
//	func MeasureCoreMessage(rounds int) (time.Duration, error)
//
// (a ping-pong between two booted cores, returning the total time of
// rounds round trips), replace the body with:
//
//	d, err := kernel.MeasureCoreMessage(rounds)
//	if err != nil {
//		return 0, false, err
//	}
//	return perOp(d, 2*rounds), true, nil
func coreMessageOneway(rounds int) (float64, bool, error) {
	return 0, false, nil
}
