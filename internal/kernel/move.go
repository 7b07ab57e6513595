package kernel

// MoveTo moves the SIP to core to: it yields, and its core hands it to
// that core at once, as the balancer hands over a runnable SIP (msgMigrate;
// deliveries for it follow it as after any migration). It returns when the
// SIP runs again, on core to, and reports false, moving nothing, for a core
// outside the machine. The balancer may move the SIP again later.
//
// It is an optional hook for tests and benchmarks that need a SIP on a
// given core after a migration (isle bench ipc's
// sip_pingpong_cross_core_after_migration_ns); the kernel never calls it.
// Called from the SIP's own host functions.
func (s *SIP) MoveTo(to int) bool {
	c := s.core
	if to < 0 || to >= len(c.m.cores) {
		return false
	}
	if to != c.id {
		s.sendHeld()
		s.moveTo = to + 1
		s.proc.Suspend(suspendYield)
	}
	return true
}
