package gen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"isle/internal/contract"
)

// every field type, a message without fields, endpoints of both sides and
// of another contract, and a field named like a variable of the stubs.
const allTypes = `
contract All {
  msg Scalars(a i32, b i64, c u32, d u64, e f64, f bool)
  msg Texts(s string, buf bytes, guest string)
  msg Ends(mine imp<All>, theirs exp<Other>)
  msg Nothing
  msg Reply(ok bool)
  initial state Start {
    imp Scalars -> Answer
    imp Texts -> Answer
    imp Ends -> Answer
    imp Nothing -> Done
  }
  state Answer { exp Reply -> Start }
  final state Done {}
}
contract Other {
  msg Tick(n u64)
  initial final state S { exp Tick -> S }
}
`

func TestGoStubs(t *testing.T) {
	set := contract.MustCompile("all.contract", allTypes)
	src := Go(set, "allproto", "all.contract") // Go runs gofmt on its output: it parses
	for _, want := range []string{
		"func (e AllImp) SendScalars(a int32, b int64, c uint32, d uint64, e_ float64, f bool, blocks ...guest.Handle) error",
		"func (e AllImp) SendTexts(s string, buf_ []byte, guest_ string, blocks ...guest.Handle) error",
		"func (e AllImp) SendEnds(mine AllImp, theirs OtherExp, blocks ...guest.Handle) error",
		"func (e AllExp) SendReply(ok bool, blocks ...guest.Handle) error",
		"func (e OtherExp) SendTick(n uint64, blocks ...guest.Handle) error",
		"All_Nothing_ID uint32 = 3",
		"func DecodeAll(info guest.Info, p []byte) AllMsg",
		"func LookupAll(name string) (AllImp, error)",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("Go stubs lack %q", want)
		}
	}
	// Only the importer sends Scalars: the exporter's end has no such method.
	if strings.Contains(src, "func (e AllExp) SendScalars") {
		t.Error("the exporter's end may send a message only the importer sends")
	}
}

func TestCStubsCompile(t *testing.T) {
	if _, err := exec.LookPath("clang"); err != nil {
		t.Fatal("clang not installed: run scripts/test.sh, which installs clang, lld, wasi-libc and libclang-rt-14-dev-wasm32")
	}
	set := contract.MustCompile("all.contract", allTypes)
	dir := t.TempDir()
	h := filepath.Join(dir, "all.h")
	if err := os.WriteFile(h, []byte(C(set, "all", "all.contract")), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := `#include "all.h"
int use(All_imp i, All_exp e, Other_exp o) {
	All_msg m;
	uint8_t buf[64];
	int err = All_imp_send_Scalars(i, -1, -2, 3, 4, 5.5, 1);
	err |= All_imp_send_Texts(i, isle_s("x"), isle_b("y", 1), isle_s("z"));
	err |= All_imp_send_Ends(i, i, o);
	err |= All_imp_send_Nothing(i);
	err |= All_exp_send_Reply(e, 1);
	isle_handle blk[1] = {7};
	err |= All_exp_send_Reply_with(e, 0, blk, 1);
	err |= All_exp_recv(e, &m, buf, sizeof buf);
	if (m.nblocks) return (int)m.blocks[0];
	if (m.id == All_Scalars_ID) return m.u.Scalars.a + (int)m.u.Scalars.d;
	if (m.id == All_Texts_ID) return (int)m.u.Texts.s.len + m.u.Texts.buf.ptr[0];
	if (m.id == All_Ends_ID) return (int)m.u.Ends.mine.h + (int)m.u.Ends.theirs.h;
	return err;
}
`
	c := filepath.Join(dir, "use.c")
	if err := os.WriteFile(c, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("../../..")
	out, err := exec.Command("clang", "--target=wasm32-wasi", "-Wall", "-Werror", "-fsyntax-only",
		"-I", filepath.Join(root, "guest", "c"), "-I", dir, c).CombinedOutput()
	if err != nil {
		t.Fatalf("clang: %v\n%s", err, out)
	}
}

// TestGoStubsCompile builds the Go stubs of allTypes, for GOOS=wasip1 and
// for the host, as a package of this module that exists only in an overlay.
func TestGoStubsCompile(t *testing.T) {
	set := contract.MustCompile("all.contract", allTypes)
	root, _ := filepath.Abs("../../..")
	dir := t.TempDir()
	file := filepath.Join(dir, "all.go")
	if err := os.WriteFile(file, []byte(Go(set, "allproto", "all.contract")), 0o644); err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(dir, "overlay.json")
	virtual := filepath.Join(root, "internal", "abi", "gen", "internal", "stubcheck", "all.go")
	if err := os.WriteFile(overlay, []byte(`{"Replace":{"`+virtual+`":"`+file+`"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, goos := range []string{"wasip1", ""} {
		cmd := exec.Command("go", "build", "-overlay="+overlay, "./internal/abi/gen/internal/stubcheck")
		cmd.Dir = root
		cmd.Env = os.Environ()
		if goos != "" {
			cmd.Env = append(cmd.Env, "GOOS="+goos, "GOARCH=wasm")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go build (GOOS=%s): %v\n%s", goos, err, out)
		}
	}
}
