package bench

import "testing"

func TestParseFileio(t *testing.T) {
	got, err := parseFileio("write_ns 10\nread_ns 20\nsmall_ns 30\n")
	if err != nil || got["write_ns"] != 10 || got["read_ns"] != 20 || got["small_ns"] != 30 {
		t.Errorf("parseFileio: %v, %v", got, err)
	}
	for _, bad := range []string{"", "write_ns 10\nread_ns 20\n", "write_ns x\nread_ns 1\nsmall_ns 1\n"} {
		if _, err := parseFileio(bad); err == nil {
			t.Errorf("parseFileio(%q) took it", bad)
		}
	}
	if len(fileioWasm) < 8 || string(fileioWasm[:4]) != "\x00asm" {
		t.Error("bench/wasi/fileio.wasm is not embedded")
	}
}

func TestReported(t *testing.T) {
	if ns, err := reported("x 1\ncat_ns 42\n", "cat_ns"); err != nil || ns != 42 {
		t.Errorf("reported: %d, %v", ns, err)
	}
	if _, err := reported("cat_ns x\n", "cat_ns"); err == nil {
		t.Error("reported took a value that is not a number")
	}
	if _, err := reported("lines_ns 1\n", "cat_ns"); err == nil {
		t.Error("reported found a key that is not there")
	}
	if len(streamsWasm) < 8 || string(streamsWasm[:4]) != "\x00asm" {
		t.Error("bench/wasi/streams.wasm is not embedded")
	}
	if len(sqlbenchSource) == 0 {
		t.Error("bench/wasi/sqlbench.c is not embedded")
	}
}
