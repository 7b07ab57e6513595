package isle

import (
	"context"

	"isle/internal/cluster/gateway"
	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
)

// seams are the steps of a machine's construction that fail only when the
// host does (no configuration makes them fail), replaceable so that a test
// can make each fail and check what Boot leaves behind
// (bootfail_internal_test.go). A nil field is the real step; Boot uses the
// zero value. Set before newMachine; immutable after.
type seams struct {
	newRuntime    func(context.Context, sandbox.Config, []sandbox.HostModule) (*sandbox.Runtime, error)
	newFS         func([]service.FSDir, *service.HostFDs) (*service.FS, error)
	bootKernel    func(*kernel.Machine) error
	gatewayModule func() []byte
}

func (s *seams) runtime(ctx context.Context, cfg sandbox.Config, hosts []sandbox.HostModule) (*sandbox.Runtime, error) {
	if s.newRuntime != nil {
		return s.newRuntime(ctx, cfg, hosts)
	}
	return sandbox.NewRuntime(ctx, cfg, hosts)
}

func (s *seams) fs(dirs []service.FSDir, fds *service.HostFDs) (*service.FS, error) {
	if s.newFS != nil {
		return s.newFS(dirs, fds)
	}
	return service.NewFS(dirs, fds)
}

func (s *seams) boot(k *kernel.Machine) error {
	if s.bootKernel != nil {
		return s.bootKernel(k)
	}
	return k.Boot()
}

func (s *seams) gateway() []byte {
	if s.gatewayModule != nil {
		return s.gatewayModule()
	}
	return gateway.Module()
}
