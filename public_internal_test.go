package isle

import (
	"reflect"
	"testing"

	"isle/internal/kernel"
	"isle/internal/tables"
)

// fill sets every field of the struct v points to a value of its own
// (numbers from n up, slices of one element), and returns the next n.
func fill(t *testing.T, v reflect.Value, n int64) int64 {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			f.SetInt(n)
		case reflect.Uint64, reflect.Uint8:
			f.SetUint(uint64(n))
		case reflect.String:
			f.SetString(v.Type().Field(i).Name)
		case reflect.Slice:
			s := reflect.MakeSlice(f.Type(), 1, 1)
			if e := s.Index(0); e.Kind() == reflect.Struct {
				n = fill(t, e, n)
			} else {
				e.SetInt(n)
			}
			f.Set(s)
		default:
			t.Fatalf("%s.%s: fill knows no %v", v.Type(), v.Type().Field(i).Name, f.Kind())
		}
		n++
	}
	return n
}

// sameFields fails unless a and b have the same fields, in order, with the
// same names and the same values (compared through their kinds).
func sameFields(t *testing.T, a, b reflect.Value) {
	t.Helper()
	if a.NumField() != b.NumField() {
		t.Fatalf("%s has %d fields, %s %d", a.Type(), a.NumField(), b.Type(), b.NumField())
	}
	for i := 0; i < a.NumField(); i++ {
		fa, fb := a.Field(i), b.Field(i)
		name := a.Type().Field(i).Name
		if bn := b.Type().Field(i).Name; bn != name {
			t.Errorf("field %d: %s.%s but %s.%s", i, a.Type(), name, b.Type(), bn)
			continue
		}
		if fa.Kind() != fb.Kind() {
			t.Errorf("%s: %v in %s, %v in %s", name, fa.Kind(), a.Type(), fb.Kind(), b.Type())
			continue
		}
		if fa.Kind() == reflect.Slice {
			if fa.Len() != fb.Len() {
				t.Errorf("%s: %d elements, want %d", name, fb.Len(), fa.Len())
				continue
			}
			for j := 0; j < fa.Len(); j++ {
				if ea, eb := fa.Index(j), fb.Index(j); ea.Kind() == reflect.Struct {
					sameFields(t, ea, eb)
				} else if ea.Int() != eb.Int() {
					t.Errorf("%s[%d] = %d, want %d", name, j, eb.Int(), ea.Int())
				}
			}
			continue
		}
		if !reflect.DeepEqual(fa.Convert(fa.Type()).Interface(), fb.Convert(fa.Type()).Interface()) {
			t.Errorf("%s = %v, want %v", name, fb.Interface(), fa.Interface())
		}
	}
}

// TestPublicTypesMirrorInternal: CoreStats and Proc have every field of the
// kernel's and the tables' records, and the conversions copy each one.
func TestPublicTypesMirrorInternal(t *testing.T) {
	var k kernel.CoreStats
	fill(t, reflect.ValueOf(&k).Elem(), 1)
	cs := coreStatsOf([]kernel.CoreStats{k})
	sameFields(t, reflect.ValueOf(k), reflect.ValueOf(cs[0]))

	var p tables.Proc
	fill(t, reflect.ValueOf(&p).Elem(), 1)
	ps := procsOf([]tables.Proc{p})
	sameFields(t, reflect.ValueOf(p), reflect.ValueOf(ps[0]))
	if coreStatsOf(nil) != nil || procsOf(nil) != nil {
		t.Error("nil in, not nil out")
	}
}

// TestTablesConfigNamesTheKinds: the kinds an embedder names are the
// tables' own, and a parsed configuration reaches the tables unchanged.
func TestTablesConfigNamesTheKinds(t *testing.T) {
	if tables.Kind(TableReplicated) != tables.Replicated || tables.Kind(TableShared) != tables.Shared {
		t.Fatal("TableKind constants differ from the tables' kinds")
	}
	if TableShared.String() != "shared" || ProcExited.String() != "exited" {
		t.Errorf("String: %v, %v", TableShared, ProcExited)
	}
	tc, err := ParseTables("names=shared,procs=replicated")
	if err != nil {
		t.Fatal(err)
	}
	want := TablesConfig{TableNames: TableShared, TableProcs: TableReplicated}
	if !reflect.DeepEqual(tc, want) {
		t.Errorf("ParseTables = %v, want %v", tc, want)
	}
	in := want.internal()
	if in[tables.Names] != tables.Shared || in[tables.Procs] != tables.Replicated || len(in) != 2 {
		t.Errorf("internal() = %v", in)
	}
	if _, err := ParseTables("names=sideways"); err == nil {
		t.Error("ParseTables accepted a kind that does not exist")
	}
	var zero TablesConfig
	if got := zero.internal(); len(got) != 0 {
		t.Errorf("the zero TablesConfig is %v, want every table at its default", got)
	}
}
