// Package layering checks that pkg/bench's packages import one way, as
// the README's Layout table says, so a sideways or upward import fails
// here instead of tangling the tree again.
package layering

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/llmbench/kubectl-llmbench/"

// rank orders pkg/bench's packages: each may import only packages of a
// lower rank. A new package gets a rank here and a row in the README.
var rank = map[string]int{
	"pkg/bench/stats":       0,
	"pkg/bench/engine":      0,
	"pkg/bench/scrape":      0,
	"pkg/bench/metric":      1,
	"pkg/bench/economics":   1,
	"pkg/bench/sim":         1,
	"pkg/bench/workload":    2,
	"pkg/bench/load":        3,
	"pkg/bench/openmetrics": 3,
	"pkg/bench/summary":     3,
	"pkg/bench/reconcile":   4,
	"pkg/bench/verdict":     5,
	"pkg/bench/live":        4,
}

// forbidden are what pkg/bench never reaches for: commands, writers,
// Kubernetes and the command-line library.
var forbidden = []string{module + "pkg/plugin", module + "pkg/export", module + "pkg/cluster", "github.com/spf13/", "k8s.io/"}

func TestBenchPackagesImportOneWay(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := filepath.Glob(filepath.Join(root, "pkg", "bench", "*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		rel, _ := filepath.Rel(root, dir)
		rel = filepath.ToSlash(rel)
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		r, ok := rank[rel]
		if !ok {
			t.Errorf("%s has no rank: add it to rank in this test and a row to the README's Layout table", rel)
			continue
		}
		seen++
		for _, imp := range pkg.Imports {
			for _, f := range forbidden {
				if strings.HasPrefix(imp, f) {
					t.Errorf("%s imports %s: pkg/bench takes typed config and interfaces, never commands, writers or Kubernetes", rel, imp)
				}
			}
			dep, internal := strings.CutPrefix(imp, module)
			if !internal || !strings.HasPrefix(dep, "pkg/bench/") {
				continue
			}
			if dr, ok := rank[dep]; ok && dr >= r {
				t.Errorf("%s (rank %d) imports %s (rank %d): imports point down only; move the shared part lower", rel, r, dep, dr)
			}
		}
	}
	if seen != len(rank) {
		t.Errorf("found %d of the %d ranked packages under pkg/bench", seen, len(rank))
	}
}

// above maps the packages over pkg/bench to what each must not import:
// the writers render data and never reach for Kubernetes or the commands;
// a run is a library the commands call; the placement data knows no
// Kubernetes.
var above = map[string][]string{
	"pkg/export":    {module + "pkg/plugin", module + "pkg/run", module + "pkg/cluster", "github.com/spf13/cobra", "k8s.io/"},
	"pkg/run":       {module + "pkg/plugin", module + "pkg/cluster", "github.com/spf13/", "k8s.io/"},
	"pkg/placement": {module + "pkg/", "k8s.io/"},
	"pkg/cluster":   {module + "pkg/plugin", module + "pkg/run", module + "pkg/export", "github.com/spf13/cobra"},
}

// allowed are the exceptions to above: placement reads the engine types.
var allowed = map[string][]string{"pkg/placement": {module + "pkg/bench/engine"}}

func TestTopPackagesImportOneWay(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for rel, bans := range above {
		pkg, err := build.ImportDir(filepath.Join(root, rel), 0)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
	imports:
		for _, imp := range pkg.Imports {
			for _, ok := range allowed[rel] {
				if imp == ok {
					continue imports
				}
			}
			for _, b := range bans {
				if strings.HasPrefix(imp, b) {
					t.Errorf("%s imports %s; it must not (see the README's Layout)", rel, imp)
				}
			}
		}
	}
}
