package isle_test

import (
	"fmt"

	"isle"
)

// An embedder names the kernel tables and their kinds with the root
// package's own constants.
func ExampleParseTables() {
	tc, err := isle.ParseTables("names=shared")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tc[isle.TableNames], tc[isle.TableNames] == isle.TableShared)
	cfg := isle.NewConfig().WithTables(isle.TablesConfig{isle.TableProcs: isle.TableReplicated})
	_ = cfg
	// Output: shared true
}
