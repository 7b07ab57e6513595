// Command gofiles uses the os package's file calls in the directory given
// as its argument and prints what it sees; its expected output is
// testdata/wasi/gofiles.out.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	dir := os.Args[1]
	p := func(name string) string { return filepath.Join(dir, name) }
	must(os.MkdirAll(p("a/b/c"), 0o755))
	must(os.WriteFile(p("a/b/c/f.txt"), []byte("one\n"), 0o644))
	b, err := os.ReadFile(p("a/b/c/f.txt"))
	must(err)
	fmt.Printf("read %q\n", b)
	f, err := os.OpenFile(p("a/b/c/f.txt"), os.O_APPEND|os.O_WRONLY, 0)
	must(err)
	fmt.Fprintln(f, "two")
	must(f.Close())
	b, _ = os.ReadFile(p("a/b/c/f.txt"))
	fmt.Printf("appended %q\n", b)
	must(os.Rename(p("a/b/c/f.txt"), p("a/g.txt")))
	_, err = os.Stat(p("a/b/c/f.txt"))
	fmt.Println("old name gone:", errors.Is(err, fs.ErrNotExist))
	for i := 0; i < 5; i++ {
		must(os.WriteFile(p(fmt.Sprintf("a/n%d", i)), []byte(strings.Repeat("x", i)), 0o644))
	}
	ents, err := os.ReadDir(p("a"))
	must(err)
	for _, e := range ents {
		info, err := e.Info()
		must(err)
		if e.IsDir() {
			fmt.Printf("%s dir\n", e.Name())
			continue
		}
		fmt.Printf("%s size=%d\n", e.Name(), info.Size())
	}
	var walked []string
	must(filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		must(err)
		rel, _ := filepath.Rel(dir, path)
		walked = append(walked, rel)
		return nil
	}))
	sort.Strings(walked)
	fmt.Println("walk:", strings.Join(walked, " "))
	must(os.Symlink("g.txt", p("a/link")))
	t, err := os.Readlink(p("a/link"))
	must(err)
	fmt.Println("readlink:", t)
	when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(os.Chtimes(p("a/g.txt"), when, when))
	st, err := os.Stat(p("a/link"))
	must(err)
	fmt.Println("mtime through link:", st.ModTime().UTC().Format(time.RFC3339), "size", st.Size())
	must(os.Truncate(p("a/g.txt"), 2))
	st, _ = os.Stat(p("a/g.txt"))
	fmt.Println("truncated size:", st.Size())
	err = os.Remove(p("a"))
	fmt.Println("remove non-empty:", err != nil)
	_, err = os.ReadFile(p("missing"))
	fmt.Println("missing:", errors.Is(err, fs.ErrNotExist))
	err = os.Mkdir(p("a"), 0o755)
	fmt.Println("mkdir existing:", errors.Is(err, fs.ErrExist))
	must(os.RemoveAll(p("a")))
	ents, _ = os.ReadDir(dir)
	fmt.Println("left:", len(ents))
	wd, _ := os.Getwd()
	fmt.Println("cwd ok:", wd != "")
}

func must(err error) {
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}
