package isle_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"isle"
)

// TestClusterGatewayPollsLinks: in examples/pingpong between SIPs on two
// nodes, the gateways read the links themselves (link.Node.Poll, while they
// expect answers) rather than wait for the links' reader goroutines, which
// run only when the Go runtime notices their sockets: when one of its
// processors goes idle, and a core spinning for an answer keeps its
// processor busy (a frame waited 0.1–4.7 ms for a reader so, and a round
// took about a millisecond). On a quiet machine nearly every frame is
// polled; the bound (one in ten) leaves room for a loaded one, where a round
// that outlasts the gateways' poll window (a thread descheduled) leaves the
// next frames to the readers: at load average 10–17 on 2 vCPUs the gateways
// polled 57–90% of the frames.
func TestClusterGatewayPollsLinks(t *testing.T) {
	// Each node as its own process would have cores + 1 = 2 processors (a
	// spare one for the links' goroutines); the two share this one, so it
	// gets 4, as isle bench cluster gives them.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	server, client := pingpongC(t, "server"), pingpongC(t, "client")
	log := &syncLog{}
	one, two := tlsNodes(t, log.logf)
	var outA, errA, outB, errB bytes.Buffer
	a, registered := bootServerNode(t, isle.ClusterConfig{Link: one, Logf: log.logf}, &outA, &errA)
	b := bootNode(t, isle.ClusterConfig{Link: two, Remote: []isle.RemoteName{pingpongRemote(t)}, Logf: log.logf}, &outB, &errB)
	ctx := context.Background()
	sp, err := a.Load(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := b.Load(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Spawn(sp, []string{"server", "1"}); err != nil {
		t.Fatal(err)
	}
	registered("pingpong")
	const rounds = 1000
	c, err := b.Spawn(cp, []string{"client", "1000"})
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Wait(); st.Status() != 0 {
		t.Fatalf("client: %+v; stderr %s; log:\n%s", st, errB.String(), log)
	}
	s1, s2 := one.Stats(), two.Stats()
	t.Logf("%s; node 1 %+v, node 2 %+v", bytes.TrimSpace(outB.Bytes()), s1, s2)
	if s1.FramesPolled < rounds/10 || s2.FramesPolled < rounds/10 {
		t.Fatalf("of %d rounds, node 1 polled %d frames (its readers read %d), node 2 %d (%d)", rounds, s1.FramesPolled, s1.FramesRead, s2.FramesPolled, s2.FramesRead)
	}
}
