package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"isle/internal/abi/gen"
	"isle/internal/contract"
)

const contractUsage = "usage: isle contract check FILE...\n       isle contract gen --lang go|c [--pkg NAME] [-o OUT] FILE"

// cmdContract: isle contract check FILE... | isle contract gen --lang go|c FILE
func cmdContract(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "gen" {
		return cmdContractGen(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprintln(stdout, contractUsage+"\n\ncheck: checks channel contracts (docs/contracts.md); prints file:line:col: message\nfor each problem and exits with status 1 if there is any\ngen: prints typed guest stubs for a contract file (docs/ipc.md)")
			return 0
		}
		fmt.Fprintln(stderr, "isle contract: "+strings.ReplaceAll(contractUsage, "\n       ", "\n               "))
		return exitUsage
	}
	fs := flag.NewFlagSet("contract check", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: isle contract check FILE...") }
	if st, ok := parseFlags(fs, args[1:], stdout, stderr); !ok {
		return st
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "isle contract check: no files given")
		return exitUsage
	}
	diags, err := contract.CheckFiles(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "isle contract check: %v\n", err)
		return exitError
	}
	for _, d := range diags {
		fmt.Fprintln(stdout, d.String())
	}
	if len(diags) > 0 {
		return 1
	}
	return 0
}

// cmdContractGen: isle contract gen --lang go|c [--pkg NAME] [-o OUT] FILE
func cmdContractGen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("contract gen", flag.ContinueOnError)
	lang := fs.String("lang", "", "go or c")
	pkg := fs.String("pkg", "", "Go package name, or C prefix (default: from the file's name)")
	out := fs.String("o", "", "write to this file instead of standard output")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: isle contract gen --lang go|c [--pkg NAME] [-o OUT] FILE")
		fs.PrintDefaults()
	}
	if st, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return st
	}
	if fs.NArg() != 1 || (*lang != "go" && *lang != "c") {
		fmt.Fprintln(stderr, "isle contract gen: usage: isle contract gen --lang go|c [--pkg NAME] [-o OUT] FILE")
		return exitUsage
	}
	file := fs.Arg(0)
	src, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "isle contract gen: %v\n", unwrapPath(err))
		return exitError
	}
	set, diags := contract.CompileSource(file, src)
	if len(diags) > 0 {
		// On stderr: stdout is where the stubs go (often a file, by
		// redirection), and it must not receive diagnostics instead.
		for _, d := range diags {
			fmt.Fprintln(stderr, d.String())
		}
		return exitError
	}
	name := *pkg
	if name == "" {
		name = identFrom(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)))
	}
	var text string
	if *lang == "go" {
		text = gen.Go(set, name, filepath.Base(file))
	} else {
		text = gen.C(set, name, filepath.Base(file))
	}
	if *out == "" {
		io.WriteString(stdout, text)
		return 0
	}
	if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
		fmt.Fprintf(stderr, "isle contract gen: %v\n", err)
		return exitError
	}
	return 0
}

// identFrom makes a lower-case identifier of a file's base name.
func identFrom(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 || unicode.IsDigit(rune(b.String()[0])) {
		return "c" + b.String()
	}
	return b.String()
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}
