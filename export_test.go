package isle

// LoaderCompiles is how many modules m's loader has compiled: the
// external tests' view of the machine's program cache.
func LoaderCompiles(m *Machine) int { return m.loader.Compiles() }
