package cluster

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// writtenLog runs a one-node cluster that registers marker, stops it, and
// returns the path of its log.
func writtenLog(t *testing.T, marker string) (*testCluster, string) {
	t.Helper()
	c := newCluster(t, 1, 7)
	c.startAll()
	c.mustRegister(c.groups[1], marker)
	c.kill(1)
	return c, c.path(1)
}

func TestCorruptLog(t *testing.T) {
	const marker = "corrupt-me-0123456789"
	cases := []struct {
		name  string
		spoil func(t *testing.T, path string)
		want  string
	}{
		{"truncated", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, "truncated"},
		{"truncated to a page", func(t *testing.T, path string) {
			if err := os.Truncate(path, 1000); err != nil {
				t.Fatal(err)
			}
		}, "corrupt"},
		{"flipped byte in an entry", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			n := 0
			for i := bytes.Index(b, []byte(marker)); i >= 0; i = bytes.Index(b, []byte(marker)) {
				b[i] ^= 0x20 // every copy bbolt left, in live and freed pages
				n++
			}
			if n == 0 {
				t.Fatal("marker not found in the log")
			}
			os.WriteFile(path, b, 0o600)
		}, "checksum"},
		{"meta pages overwritten", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			f.WriteAt(bytes.Repeat([]byte{0xAB}, 8192), 0)
			f.Close()
		}, "corrupt"},
		{"not a database", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("hello, world\n", 2000)), 0o600)
		}, "corrupt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, path := writtenLog(t, marker)
			tc.spoil(t, path)
			_, err := Start(c.config(1))
			if !errors.Is(err, ErrCorruptLog) {
				t.Fatalf("start on a spoiled log: %v, want ErrCorruptLog", err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) || !strings.Contains(msg, path) {
				t.Fatalf("error %q: want one line naming the file and %q", msg, tc.want)
			}
		})
	}
	t.Run("intact", func(t *testing.T) {
		c, _ := writtenLog(t, marker)
		c.mustFind(c.start(1), marker)
	})
	t.Run("held by another node", func(t *testing.T) {
		c, _ := writtenLog(t, marker)
		c.start(1)
		start := time.Now()
		_, err := Start(c.config(1))
		if err == nil || !strings.Contains(err.Error(), "held by another process") {
			t.Fatalf("second start on one log: %v", err)
		}
		t.Logf("%v (after %v)", err, time.Since(start))
	})
}
