package link

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A node's certificate names it as NodeName(id), in its DNS names and its
// common name: a dialer verifies the acceptor's certificate against that name
// (tls.Config.ServerName), and an acceptor reads the dialer's id from it.

// certValidity is how long the certificates of `isle cluster certs` last.
const certValidity = 10 * 365 * 24 * time.Hour

// NodeName is the name that node id's certificate carries.
func NodeName(id uint64) string { return "node-" + strconv.FormatUint(id, 10) + ".isle" }

// IDFromCert is the node id a certificate carries: exactly one NodeName.
func IDFromCert(c *x509.Certificate) (uint64, error) {
	var id uint64
	for _, name := range c.DNSNames {
		s, ok := strings.CutPrefix(name, "node-")
		if !ok {
			continue
		}
		s, ok = strings.CutSuffix(s, ".isle")
		v, err := strconv.ParseUint(s, 10, 64)
		if !ok || err != nil || v == 0 || NodeName(v) != name {
			continue
		}
		if id != 0 && id != v {
			return 0, fmt.Errorf("certificate %q names two nodes (%d and %d)", c.Subject.CommonName, id, v)
		}
		id = v
	}
	if id == 0 {
		return 0, fmt.Errorf("certificate %q names no node (want a DNS name node-ID.isle)", c.Subject.CommonName)
	}
	return id, nil
}

// tlsConfigs derives the acceptor's and the dialer's configurations from the
// user's: TLS 1.3 only, the peer's certificate required and verified against
// the cluster's CA (ClientCAs, or RootCAs when that is unset).
func tlsConfigs(base *tls.Config) (server, client *tls.Config, err error) {
	if len(base.Certificates) == 0 && base.GetCertificate == nil {
		return nil, nil, errors.New("link: TLS config has no certificate for this node")
	}
	cas := base.ClientCAs
	if cas == nil {
		cas = base.RootCAs
	}
	if cas == nil {
		return nil, nil, errors.New("link: TLS config has no cluster CA (RootCAs or ClientCAs)")
	}
	// Full-size records from the first write: a link carries batches, and
	// small records cost a seal and a header each.
	base = base.Clone()
	base.DynamicRecordSizingDisabled = true
	server = base.Clone()
	server.MinVersion = tls.VersionTLS13
	server.ClientAuth = tls.RequireAndVerifyClientCert
	server.ClientCAs = cas
	client = base.Clone()
	client.MinVersion = tls.VersionTLS13
	client.RootCAs = cas
	client.InsecureSkipVerify = false
	return server, client, nil
}

// CertFiles are the files of a cluster's certificates in a directory.
func CertFiles(dir string, id uint64) (ca, cert, key string) {
	return filepath.Join(dir, "ca.pem"),
		filepath.Join(dir, fmt.Sprintf("node-%d.pem", id)),
		filepath.Join(dir, fmt.Sprintf("node-%d-key.pem", id))
}

// LoadTLS reads node id's certificate and key and the cluster's CA from dir
// (as GenerateCerts writes them).
func LoadTLS(dir string, id uint64) (*tls.Config, error) {
	caFile, certFile, keyFile := CertFiles(dir, id)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("node %d's certificate: %v", id, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("node %d's certificate: %v", id, err)
	}
	if got, err := IDFromCert(leaf); err != nil || got != id {
		if err == nil {
			err = fmt.Errorf("%s is node %d's", certFile, got)
		}
		return nil, fmt.Errorf("node %d's certificate: %v", id, err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("cluster CA: %s holds no PEM certificate", caFile)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, ClientCAs: pool, MinVersion: tls.VersionTLS13}, nil
}

// GenerateCerts writes a new cluster CA (ca.pem, ca-key.pem) and, for each
// id, a certificate and key signed by it (node-ID.pem, node-ID-key.pem), all
// ECDSA P-256. Keys are written readable by their owner only.
func GenerateCerts(dir string, ids []uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "isle cluster CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)
	caFile := filepath.Join(dir, "ca.pem")
	if err := writePEM(caFile, "CERTIFICATE", caDER, 0o644); err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, "ca-key.pem"), caKey); err != nil {
		return err
	}
	for _, id := range ids {
		if id == 0 {
			return errors.New("node id 0 is not allowed")
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: NodeName(id)},
			DNSNames:     []string{NodeName(id)},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(certValidity),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		_, certFile, keyFile := CertFiles(dir, id)
		if err := writePEM(certFile, "CERTIFICATE", der, 0o644); err != nil {
			return err
		}
		if err := writeKey(keyFile, key); err != nil {
			return err
		}
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

func writeKey(file string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(file, "PRIVATE KEY", der, 0o600)
}

func writePEM(file, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}
