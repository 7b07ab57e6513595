package urpc

import (
	"testing"
	"time"
)

// TestDoorbellTurnsAsymmetricInArm checks the switch from fences to
// membarrier: a doorbell whose registration is not done stays symmetric
// through Arm; once the registration is done, the next Arm makes it
// asymmetric (where the kernel offers membarrier) and it stays so.
func TestDoorbellTurnsAsymmetricInArm(t *testing.T) {
	reg := &Membarrier{}
	d := NewDoorbellWith(reg)
	d.Arm()
	d.Disarm()
	if d.asymmetric.Load() {
		t.Fatal("asymmetric before the registration is done")
	}
	reg.register()
	want := needFence && reg.ok.Load()
	if d.asymmetric.Load() {
		t.Fatal("asymmetric before the consumer's next Arm")
	}
	for range 2 {
		d.Arm()
		d.Disarm()
		if got := d.asymmetric.Load(); got != want {
			t.Fatalf("after Arm: asymmetric %v, want %v", got, want)
		}
	}
	if NewDoorbellWith(nil).reg != nil {
		t.Fatal("a doorbell without a registration has one")
	}
}

// TestMembarrierCancelBeforeStart checks that a machine ending before the
// delay never registers: the kernel's grace period is what a short program
// must not wait for.
func TestMembarrierCancelBeforeStart(t *testing.T) {
	reg := RegisterMembarrier(time.Hour)
	reg.Cancel()
	if needFence && (reg.done.Load() || reg.timer.Stop()) {
		t.Fatal("the registration started or its timer still runs after Cancel")
	}
	var none *Membarrier
	none.Cancel() // a machine built without one
}

// TestMeshStressSwitchingDoorbells is the hammer test with doorbells that
// start symmetric and turn asymmetric while the messages flow, as a
// machine's do: the registration runs concurrently with the traffic.
func TestMeshStressSwitchingDoorbells(t *testing.T) {
	reg := &Membarrier{}
	go reg.register()
	meshStress(t, stressMessages/10, func() *Doorbell { return NewDoorbellWith(reg) })
	if needFence && !reg.done.Load() {
		t.Log("the registration did not finish during the test")
	}
}
