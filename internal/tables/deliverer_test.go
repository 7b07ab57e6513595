package tables

import (
	"testing"

	"isle/internal/kernel"
)

// TestMachineOffersDelivery keeps Do on the kernel's controller delivery
// rather than on its polling fallback: if the kernel's method changes shape,
// this fails instead of every idle core starting to poll.
func TestMachineOffersDelivery(t *testing.T) {
	var m any = &kernel.Machine{}
	if _, ok := m.(deliverer); !ok {
		t.Fatal("kernel.Machine does not satisfy tables.deliverer")
	}
}
