package link

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// certs makes a cluster CA and certificates for ids in a temporary directory.
func certs(t *testing.T, ids ...uint64) string {
	t.Helper()
	dir := t.TempDir()
	if err := GenerateCerts(dir, ids); err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadTLS(t *testing.T, dir string, id uint64) *tls.Config {
	t.Helper()
	c, err := LoadTLS(dir, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTLSLink: two nodes with certificates of one CA link and exchange
// frames over TLS 1.3.
func TestTLSLink(t *testing.T) {
	dir := certs(t, 1, 2)
	a := start(t, Config{ID: 1, TLS: loadTLS(t, dir, 1)})
	b := start(t, Config{ID: 2, TLS: loadTLS(t, dir, 2), Peers: map[uint64]string{1: a.Addr()}})
	in := listen(a, 4)
	if err := b.Send(1, 4, []byte("over tls")); err != nil {
		t.Fatal(err)
	}
	if f := in.next(t); f.from != 2 || string(f.payload) != "over tls" {
		t.Fatalf("got %+v", f)
	}
	waitLinked(t, a, 2)
	if fi, err := os.Stat(filepath.Join(dir, "node-1-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
}

// TestTLSForeignCA: a node whose certificate is not from the cluster's CA is
// refused by the acceptor (it trusts the cluster's CA, so the acceptor's
// certificate passes its own check), and a node that dials one is refused by
// its own verification.
func TestTLSForeignCA(t *testing.T) {
	dir, foreign := certs(t, 1, 2), certs(t, 1, 2)
	la, lb := newLogBuf(), newLogBuf()
	b := start(t, Config{ID: 2, TLS: loadTLS(t, dir, 2), Logf: lb.logf})
	intruder := loadTLS(t, foreign, 1)
	cluster := loadTLS(t, dir, 1).RootCAs
	intruder.RootCAs, intruder.ClientCAs = cluster, cluster
	a := start(t, Config{ID: 1, TLS: intruder, Logf: la.logf, Peers: map[uint64]string{2: b.Addr()}})
	lb.wait(t, "node 2: refused a connection from", "certificate signed by unknown authority")
	la.wait(t, "cannot link to node 2")
	if len(a.Peers()) != 0 || len(b.Peers()) != 0 {
		t.Fatal("a node of a foreign CA was linked")
	}

	// The dialer's side: a cluster node dialing an impostor's address.
	lc := newLogBuf()
	impostor := start(t, Config{ID: 3, TLS: loadTLS(t, foreign, 2)})
	c := start(t, Config{ID: 1, TLS: loadTLS(t, dir, 1), Logf: lc.logf, Peers: map[uint64]string{2: impostor.Addr()}})
	lc.wait(t, "cannot link to node 2", "TLS", "unknown authority")
	if len(c.Peers()) != 0 {
		t.Fatal("linked to an impostor")
	}
}

// TestTLSWrongNode: the dialer checks that the acceptor is the node it meant
// (a certificate of the cluster, for another node, is refused).
func TestTLSWrongNode(t *testing.T) {
	dir := certs(t, 1, 2, 3)
	l := newLogBuf()
	three := start(t, Config{ID: 3, TLS: loadTLS(t, dir, 3)})
	start(t, Config{ID: 1, TLS: loadTLS(t, dir, 1), Logf: l.logf, Peers: map[uint64]string{2: three.Addr()}})
	l.wait(t, "cannot link to node 2", "node-2.isle")
}

// rawTLS dials n with cfg, as a hand-made client would.
func rawTLS(t *testing.T, n *Node, cfg *tls.Config, server uint64) net.Conn {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName = NodeName(server)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.Addr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// welcomeOf sends h on c and returns the refusal ("" when accepted).
func welcomeOf(t *testing.T, c net.Conn, h hello) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := writeHandshake(c, kindHello, h.encode()); err != nil {
		t.Fatal(err)
	}
	b, err := readHandshake(c, kindWelcome)
	if err != nil {
		t.Fatal(err)
	}
	_, _, refusal, ok := decodeWelcome(b)
	if !ok {
		t.Fatalf("bad welcome %x", b)
	}
	return refusal
}

// TestTLSClaimsOtherID: a cluster node's certificate does not let it speak
// as another node.
func TestTLSClaimsOtherID(t *testing.T) {
	dir := certs(t, 1, 2, 3, 5)
	l := newLogBuf()
	five := start(t, Config{ID: 5, TLS: loadTLS(t, dir, 5), Logf: l.logf})
	c := rawTLS(t, five, loadTLS(t, dir, 3), 5)
	refusal := welcomeOf(t, c, hello{id: 2, incarnation: 7, epoch: 1})
	if refusal == "" {
		t.Fatal("node 3's certificate was accepted as node 2")
	}
	l.wait(t, "claims to be node 2 but its certificate is for node 3")
}

// TestGarbage: a client that does not speak the link (plain: no hello;
// TLS: no TLS) is refused with one line, and the node carries on.
func TestGarbage(t *testing.T) {
	dir := certs(t, 1, 2)
	for _, withTLS := range []bool{false, true} {
		l := newLogBuf()
		cfg := Config{ID: 2, Logf: l.logf}
		if withTLS {
			cfg.TLS = loadTLS(t, dir, 2)
		}
		n := start(t, cfg)
		c, err := net.Dial("tcp", n.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var b [64]byte
		for {
			if _, err := c.Read(b[:]); err != nil {
				break // the node closed it
			}
		}
		c.Close()
		if withTLS {
			l.wait(t, "refused a connection from", "tls:")
		} else {
			l.wait(t, "refused a connection from", "not an isle link")
		}
		// Still serving: a real node links.
		cfg1 := Config{ID: 1, Peers: map[uint64]string{2: n.Addr()}}
		if withTLS {
			cfg1.TLS = loadTLS(t, dir, 1)
		}
		one := start(t, cfg1)
		waitLinked(t, one, 2)
		one.Close()
	}
}

// TestDuplicateID: while node 2 is linked to node 1, a second node calling
// itself 2 (another incarnation) is refused, and so is a client claiming
// node 1's own id; the first session stays up.
func TestDuplicateID(t *testing.T) {
	dir := certs(t, 1, 2)
	l := newLogBuf()
	one := start(t, Config{ID: 1, TLS: loadTLS(t, dir, 1), Logf: l.logf})
	two := start(t, Config{ID: 2, TLS: loadTLS(t, dir, 2), Peers: map[uint64]string{1: one.Addr()}})
	waitLinked(t, one, 2)
	waitLinked(t, two, 1)
	start(t, Config{ID: 2, TLS: loadTLS(t, dir, 2), Peers: map[uint64]string{1: one.Addr()}})
	l.wait(t, "refused a connection from", "node 2 is linked already", "duplicate node id")

	c := rawTLS(t, one, loadTLS(t, dir, 1), 1)
	if refusal := welcomeOf(t, c, hello{id: 1, incarnation: 9, epoch: 1}); refusal == "" {
		t.Fatal("a client claiming node 1's own id was accepted")
	}
	l.wait(t, "claims this node's own id 1")
	in := listen(one, 2)
	if err := two.Send(1, 2, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if f := in.next(t); string(f.payload) != "still here" {
		t.Fatalf("got %q", f.payload)
	}
}

// TestLoadTLSBad: missing files and a certificate of another node get an
// error naming what is wrong.
func TestLoadTLSBad(t *testing.T) {
	dir := certs(t, 1, 2)
	if _, err := LoadTLS(dir, 3); err == nil {
		t.Fatal("loaded a node without files")
	}
	_, cert2, key2 := CertFiles(dir, 2)
	_, cert1, key1 := CertFiles(dir, 1)
	os.Rename(cert2, cert1)
	os.Rename(key2, key1)
	if _, err := LoadTLS(dir, 1); err == nil {
		t.Fatal("loaded node 2's certificate as node 1's")
	}
	if _, err := Start(Config{ID: 1, Listen: "127.0.0.1:0", TLS: &tls.Config{}}); err == nil {
		t.Fatal("started with a TLS config without a certificate")
	}
}
