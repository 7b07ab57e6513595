package isle

import "testing"

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"512M", 512 << 20, true}, {"4G", 4 << 30, true}, {"4g", 4 << 30, true}, {"64K", 64 << 10, true},
		{"1GiB", 1 << 30, true}, {"2MB", 2 << 20, true}, {"1T", 1 << 40, true}, {"12345", 12345, true},
		{"", 0, false}, {"G", 0, false}, {"-1G", 0, false}, {"1.5G", 0, false}, {"1Q", 0, false},
		{"99999999999999999999", 0, false}, {"9999999999T", 0, false},
	} {
		got, err := ParseSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d (ok %v)", c.in, got, err, c.want, c.ok)
		}
		if c.ok {
			if back, err := ParseSize(FormatSize(got)); err != nil || back != got {
				t.Errorf("FormatSize(%d) = %q does not parse back", got, FormatSize(got))
			}
		}
	}
}

func TestHostMemoryIsTheSmallerOfMemTotalAndTheCgroup(t *testing.T) {
	meminfo := []byte("MemTotal:       24000000 kB\nMemFree:        1000 kB\n")
	for _, c := range []struct {
		cgroup string
		want   uint64
	}{
		{"max\n", 24000000 << 10},
		{"", 24000000 << 10},
		{"8589934592\n", 8 << 30},
		{"99999999999999\n", 24000000 << 10},
	} {
		if got := memoryOf(meminfo, []byte(c.cgroup)); got != c.want {
			t.Errorf("cgroup %q: %d, want %d", c.cgroup, got, c.want)
		}
	}
	if got := memoryOf(nil, []byte("1073741824")); got != 1<<30 {
		t.Errorf("without meminfo: %d, want the cgroup's limit", got)
	}
}

func TestBudgetDefaultsAndChecks(t *testing.T) {
	b, err := NewConfig().budgets(16 << 30)
	if err != nil || b.memoryPages != 65536 || b.machineMemory != 8<<30 || b.maxDescendants != DefaultMaxDescendants {
		t.Errorf("defaults on a 16 GiB host: %+v, %v", b, err)
	}
	if b, _ := NewConfig().budgets(0); b.machineMemory != DefaultMemoryLimit {
		t.Errorf("default machine budget with the host's memory unknown: %d", b.machineMemory)
	}
	b, err = NewConfig().WithMemoryLimit(256<<20 + 100).WithMachineMemory(1 << 30).WithMaxDescendants(7).budgets(16 << 30)
	if err != nil || b.memoryPages != 4096 || b.machineMemory != 1<<30 || b.maxDescendants != 7 {
		t.Errorf("set: %+v, %v", b, err)
	}
	for _, c := range []Config{
		NewConfig().WithMemoryLimit(5 << 30),
		NewConfig().WithMemoryLimit(1000),
		NewConfig().WithMachineMemory(1000),
		NewConfig().WithMaxDescendants(-1),
	} {
		if _, err := c.budgets(16 << 30); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
