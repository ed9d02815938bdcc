package metalapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"time"
)

// KillOperator SIGKILLs metal-operator, as a crashed or evicted manager ends, and starts it again with the same
// flags; it returns once the new one is ready. The new process logs to metal-operator.restart-<n>.log.
func (m *MetalAPI) KillOperator(ctx context.Context) error {
	if err := m.operator.kill(); err != nil {
		return err
	}
	return m.startOperator(ctx, m.opts)
}

// KillBMC SIGKILLs the mock BMC of the i-th Server and starts it again at the same address with the same system
// UUID, as a BMC that resets. The mock keeps its state in memory only, so it comes back with the system's default
// power state, and metal-operator powers the Server as its spec says.
func (m *MetalAPI) KillBMC(ctx context.Context, i int) error {
	if i < 0 || i >= len(m.mocks) {
		return fmt.Errorf("there is no mock BMC %d", i)
	}
	if err := m.mocks[i].kill(); err != nil {
		return err
	}
	redfish := &redfishClient{http: &http.Client{
		Transport: &http.Transport{DialContext: m.ns.dialContext},
		Timeout:   5 * time.Second,
	}}
	m.mockStarts++
	mock, err := m.startMock(ctx, redfish, i, m.endpoints[i], fmt.Sprintf("%s.restart-%d.log", bmcName(i), m.mockStarts))
	if err != nil {
		return err
	}
	m.mocks[i] = mock
	return nil
}

// kill SIGKILLs the process group and waits until the process has ended.
func (p *process) kill() error {
	select {
	case <-p.exited:
		return p.exitError()
	default:
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing %s: %w", p.name, err)
	}
	<-p.exited
	return nil
}
