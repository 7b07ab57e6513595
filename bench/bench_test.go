package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestMainUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"urpc", "--bogus"}, {"urpc", "urpc"}} {
		var out, errOut bytes.Buffer
		if code := Main(args, &out, &errOut); code != 2 {
			t.Errorf("Main(%q) = %d, want 2", args, code)
		}
		if lines := strings.Count(strings.TrimSpace(errOut.String()), "\n"); lines != 0 || errOut.Len() == 0 {
			t.Errorf("Main(%q) wrote %q to stderr, want one line", args, errOut.String())
		}
		if out.Len() != 0 {
			t.Errorf("Main(%q) wrote %q to stdout", args, out.String())
		}
	}
}

func TestOutputFormats(t *testing.T) {
	rows := []Row{{"a_ns", 1.5, "ns"}, {"b_msgs_per_s", 2e7, "msgs/s"}}
	var out bytes.Buffer
	WriteTable(&out, rows)
	if !strings.Contains(out.String(), "a_ns") || !strings.Contains(out.String(), "msgs/s") {
		t.Errorf("table %q lacks its rows", out.String())
	}
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"name":"a_ns","value":1.5,"unit":"ns"},{"name":"b_msgs_per_s","value":20000000,"unit":"msgs/s"}]`; string(b) != want {
		t.Errorf("json %s, want %s", b, want)
	}
}
