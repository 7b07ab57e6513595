package isle

import (
	"runtime"
	"runtime/debug"
)

// release is isle's version when the binary's build information names none:
// a build from a checkout (`go build`, `go run`, a test binary) records its
// main module as "(devel)"; `go install isle/cmd/isle@vX.Y.Z` records vX.Y.Z.
const release = "v0.1.0-dev"

// wazeroModule is the module path of the WebAssembly runtime that
// internal/sandbox builds on.
const wazeroModule = "github.com/tetratelabs/wazero"

// Versions are the versions a binary was built from.
type Versions struct {
	Isle   string // isle's module version (release when built from a checkout), with its VCS revision when recorded
	Wazero string // the wazero module linked in; "unknown" where the build information lists no dependencies (a test binary)
	Go     string // the Go toolchain that built it
}

// Version reports the versions the running binary was built from, as its
// build information (runtime/debug.ReadBuildInfo) records them.
func Version() Versions {
	v := Versions{Isle: release, Wazero: "unknown", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
		v.Isle = mv
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v.Isle += " (" + s.Value[:12] + ")"
		}
	}
	for _, d := range bi.Deps {
		if d.Path != wazeroModule {
			continue
		}
		v.Wazero = d.Version
		if d.Replace != nil {
			v.Wazero = d.Replace.Path + " " + d.Replace.Version
		}
	}
	return v
}
