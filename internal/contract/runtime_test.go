package contract

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func examples(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("../../examples/contracts/*.contract")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 2 {
		t.Fatalf("found %d examples, want kv and pingpong at least", len(paths))
	}
	return paths
}

// TestExamplesCheckClean checks every contract under examples/contracts.
func TestExamplesCheckClean(t *testing.T) {
	paths := examples(t)
	diags, err := CheckFiles(paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diags {
		t.Error(d)
	}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := ParseFile(p, src)
		if _, diags := Compile(f); len(diags) > 0 {
			t.Errorf("%s: does not compile: %v", p, diags)
		}
	}
}

func TestCheckFilesIOError(t *testing.T) {
	diags, err := CheckFiles([]string{"testdata/does-not-exist.contract"})
	if err == nil || diags != nil {
		t.Fatalf("got %v, %v; want nil diagnostics and an error", diags, err)
	}
}

func TestCheckFilesKeepsFileOrder(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "z.contract")
	b := filepath.Join(dir, "a.contract")
	os.WriteFile(a, []byte("contract A {}\n"), 0o644)
	os.WriteFile(b, []byte("contract B {}\n"), 0o644)
	diags, err := CheckFiles([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		a + ":1:10: contract A has no initial state",
		b + ":1:10: contract B has no initial state",
	}
	if len(diags) != 2 || diags[0].String() != want[0] || diags[1].String() != want[1] {
		t.Fatalf("got %v, want %v", diags, want)
	}
}

const kvSrc = `
contract KV {
  msg Get(key string)
  msg Value(found bool, value bytes)
  msg Watch(ch exp<Feed>)
  msg Ok
  msg Bye
  initial state Ready {
    imp Get -> Waiting
    imp Watch -> Acking
    imp Bye -> Done
  }
  state Waiting { exp Value -> Ready }
  state Acking { exp Ok -> Ready }
  final state Done {}
}
contract Feed {
  msg Item(n i64)
  initial final state Open { exp Item -> Open }
}
`

func TestStep(t *testing.T) {
	set := MustCompile("kv", kvSrc)
	kv := set.Lookup("KV")
	if kv == nil || set.Lookup("Nope") != nil || set.Len() != 2 || set.At(1).Name() != "Feed" {
		t.Fatal("Lookup, Len or At wrong")
	}
	state := func(name string) StateID {
		s, ok := kv.StateByName(name)
		if !ok {
			t.Fatalf("no state %s", name)
		}
		return s
	}
	msg := func(name string) MsgID { return kv.MessageByName(name).ID() }
	ready, waiting, done := state("Ready"), state("Waiting"), state("Done")
	if kv.Initial() != ready {
		t.Errorf("initial = %d, want Ready", kv.Initial())
	}
	tests := []struct {
		from Side
		s    StateID
		msg  string
		next StateID
		ok   bool
	}{
		{Importer, ready, "Get", waiting, true},
		{Importer, ready, "Bye", done, true},
		{Exporter, waiting, "Value", ready, true},
		{Exporter, ready, "Get", NoState, false},     // wrong side
		{Importer, waiting, "Value", NoState, false}, // wrong side
		{Importer, ready, "Value", NoState, false},   // not allowed here
		{Exporter, waiting, "Get", NoState, false},   // not allowed here, wrong side
		{Importer, done, "Get", NoState, false},      // nothing after final
		{Exporter, done, "Get", NoState, false},
		{NoSide, done, "Get", NoState, false},
	}
	for _, tt := range tests {
		next, ok := kv.Step(tt.s, tt.from, msg(tt.msg))
		if next != tt.next || ok != tt.ok {
			t.Errorf("Step(%s, %s, %s) = %d, %v; want %d, %v", kv.StateName(tt.s), tt.from, tt.msg, next, ok, tt.next, tt.ok)
		}
	}
	// Out of range inputs are refused, not a panic: they come from guests.
	if _, ok := kv.Step(StateID(kv.NumStates()), Importer, 0); ok {
		t.Error("Step accepted an out-of-range state")
	}
	if _, ok := kv.Step(ready, Importer, MsgID(kv.NumMessages())); ok {
		t.Error("Step accepted an out-of-range message")
	}
	if _, ok := kv.Step(NoState, Importer, 0); ok {
		t.Error("Step accepted NoState")
	}
	if !kv.Final(done) || kv.Final(ready) || kv.Final(NoState) {
		t.Error("Final wrong")
	}
	if kv.Sender(ready) != Importer || kv.Sender(waiting) != Exporter || kv.Sender(done) != NoSide || kv.Sender(NoState) != NoSide {
		t.Error("Sender wrong")
	}
	if got := kv.Transitions(ready); len(got) != 3 || got[0] != (Transition{msg("Get"), waiting}) {
		t.Errorf("Transitions(Ready) = %v", got)
	}
	w := kv.MessageByName("Watch").Field(0)
	if w.Kind != KindEndpoint || w.Side != Exporter || w.Contract != set.Lookup("Feed") || w.TypeString() != "exp<Feed>" {
		t.Errorf("Watch field = %+v", w)
	}
}

// TestStringRoundTrip: a compiled contract prints as source that compiles
// to the same contract.
func TestStringRoundTrip(t *testing.T) {
	for _, p := range examples(t) {
		src, _ := os.ReadFile(p)
		set, diags := CompileSource(p, src)
		if len(diags) > 0 {
			t.Fatal(diags)
		}
		var b strings.Builder
		for i := range set.Len() {
			b.WriteString(set.At(i).String())
		}
		set2, diags := CompileSource("printed", []byte(b.String()))
		if len(diags) > 0 {
			t.Fatalf("%s printed:\n%s\n%v", p, b.String(), diags)
		}
		var b2 strings.Builder
		for i := range set2.Len() {
			b2.WriteString(set2.At(i).String())
		}
		if b.String() != b2.String() {
			t.Errorf("%s: printing is not stable:\n%s\n---\n%s", p, b.String(), b2.String())
		}
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "bad:1:10: contract A has no initial state") {
			t.Errorf("recovered %v", r)
		}
	}()
	MustCompile("bad", "contract A {}")
}

func TestHotPathAllocs(t *testing.T) {
	set := MustCompile("kv", kvSrc)
	kv := set.Lookup("KV")
	get := kv.MessageByName("Get").ID()
	watch := kv.MessageByName("Watch")
	payload, err := watch.Encode(nil, Handle(7))
	if err != nil {
		t.Fatal(err)
	}
	refs := make([]EndpointRef, 0, 4)
	allocs := testing.AllocsPerRun(1000, func() {
		s, _ := kv.Step(kv.Initial(), Importer, get)
		_ = kv.Final(s)
		_ = kv.Sender(s)
		refs, _ = watch.CheckFields(payload, refs[:0])
	})
	if allocs != 0 {
		t.Errorf("hot path allocates %v times a run", allocs)
	}
	if len(refs) != 1 || refs[0] != (EndpointRef{Field: 0, Offset: 0, Handle: 7}) {
		t.Errorf("refs = %v", refs)
	}
}

func BenchmarkStep(b *testing.B) {
	kv := MustCompile("kv", kvSrc).Lookup("KV")
	get := kv.MessageByName("Get").ID()
	value := kv.MessageByName("Value").ID()
	s := kv.Initial()
	for b.Loop() {
		s, _ = kv.Step(s, Importer, get)
		s, _ = kv.Step(s, Exporter, value)
	}
}

func BenchmarkCheckFields(b *testing.B) {
	m := MustCompile("kv", kvSrc).Lookup("KV").MessageByName("Value")
	payload, _ := m.Encode(nil, true, make([]byte, 100))
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := m.CheckFields(payload, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	fp := func(src, name string) [32]byte { return MustCompile("f", src).Lookup(name).Fingerprint() }
	kv := fp(kvSrc, "KV")
	if kv != fp(kvSrc, "KV") {
		t.Error("same source, different fingerprints")
	}
	// Layout and comments do not matter.
	relaid := strings.ReplaceAll(strings.ReplaceAll(kvSrc, "\n", " // c\n"), "  ", "\t \t")
	if kv != fp(relaid, "KV") {
		t.Error("layout changed the fingerprint")
	}
	// The carried contract is part of it; an unrelated one is not.
	if kv == fp(strings.Replace(kvSrc, "msg Item(n i64)", "msg Item(n u64)", 1), "KV") {
		t.Error("changing a carried contract kept the fingerprint")
	}
	if kv != fp(kvSrc+"contract Other { initial final state S {} }", "KV") {
		t.Error("an unrelated contract changed the fingerprint")
	}
	// Declaration order fixes IDs, so it is part of it too.
	if kv == fp(strings.Replace(strings.Replace(kvSrc, "msg Ok\n", "", 1), "msg Bye\n", "msg Bye\n  msg Ok\n", 1), "KV") {
		t.Error("reordering messages kept the fingerprint")
	}
}
