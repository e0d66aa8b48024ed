// Command writeparquet writes the Parquet files of a run folder with
// pkg/export, the way `run` and `report` do, so test/duckdb/run.sh can read
// them with DuckDB even where the binary was not asked to write them.
package main

import (
	"fmt"
	"os"

	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./test/duckdb/writeparquet RUN_DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	run, err := export.LoadRun(dir)
	if err == nil {
		err = export.WriteParquet(dir, run)
	}
	if err == nil {
		err = export.WriteCSV(dir, run)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "writeparquet:", err)
		os.Exit(1)
	}
}
