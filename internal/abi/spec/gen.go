//go:build ignore

// gen writes the files derived from the ABI table (spec.Render) into the
// module: `go generate ./internal/abi/spec`.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"isle/internal/abi/spec"
)

func main() {
	files, err := spec.Render()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for path, b := range files {
		if err := os.WriteFile(filepath.Join("..", "..", "..", path), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}
