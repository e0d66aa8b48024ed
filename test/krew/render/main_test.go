package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// plugin is the part of krew's Plugin type (sigs.k8s.io/krew/pkg/index)
// the checks read; make krew runs krew's own validator on the same output.
type plugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
		} `json:"platforms"`
	} `json:"spec"`
}

// The platforms hack/dist.sh builds and the archive names it gives them.
var platforms = map[string]string{
	"linux/amd64":   "kubectl-llmbench_v1.2.3_linux_amd64.tar.gz",
	"linux/arm64":   "kubectl-llmbench_v1.2.3_linux_arm64.tar.gz",
	"darwin/amd64":  "kubectl-llmbench_v1.2.3_darwin_amd64.tar.gz",
	"darwin/arm64":  "kubectl-llmbench_v1.2.3_darwin_arm64.tar.gz",
	"windows/amd64": "kubectl-llmbench_v1.2.3_windows_amd64.zip",
}

func TestKrewTemplateRendersAsTheBotWould(t *testing.T) {
	text, err := os.ReadFile("../../../.krew.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := render(string(text), "v1.2.3", func(name string) (string, string, error) {
		return "https://example.test/" + name, fakeSum(name), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var p plugin
	if err := yaml.UnmarshalStrict(out, &p); err != nil {
		t.Fatalf("rendered manifest is not a krew Plugin: %v\n%s", err, out)
	}
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" || p.Metadata.Name != "llmbench" {
		t.Errorf("header %s %s %s, want the v1alpha2 Plugin llmbench", p.APIVersion, p.Kind, p.Metadata.Name)
	}
	if p.Spec.Version != "v1.2.3" || !strings.Contains(p.Spec.Caveats, "/store/llmbench/v1.2.3/") {
		t.Errorf("version %q; caveats %q: want the tag in both", p.Spec.Version, p.Spec.Caveats)
	}
	// krew-index: a one-line short description, no flag list in the
	// description, caveats only for setup, and oc users told it works.
	if strings.Contains(p.Spec.ShortDescription, "\n") || p.Spec.ShortDescription == "" {
		t.Errorf("shortDescription %q, want one line", p.Spec.ShortDescription)
	}
	if strings.Contains(p.Spec.Description, "--") {
		t.Errorf("description lists flags:\n%s", p.Spec.Description)
	}
	if !strings.Contains(p.Spec.Caveats, "oc llmbench") {
		t.Errorf("caveats do not mention oc llmbench:\n%s", p.Spec.Caveats)
	}
	seen := map[string]bool{}
	for _, pl := range p.Spec.Platforms {
		key := pl.Selector.MatchLabels["os"] + "/" + pl.Selector.MatchLabels["arch"]
		name, ok := platforms[key]
		if !ok || seen[key] || len(pl.Selector.MatchLabels) != 2 {
			t.Errorf("platform selector %v: want each of %d os/arch pairs once", pl.Selector.MatchLabels, len(platforms))
			continue
		}
		seen[key] = true
		if pl.URI != "https://example.test/"+name || pl.SHA256 != fakeSum(name) {
			t.Errorf("%s: uri %q sha256 %q, want %s and its sum", key, pl.URI, pl.SHA256, name)
		}
		bin := "kubectl-llmbench"
		if strings.HasPrefix(key, "windows/") {
			bin += ".exe"
		}
		var from []string
		for _, f := range pl.Files {
			from = append(from, f.From)
		}
		slices.Sort(from)
		if want := []string{"LICENSE", bin, "kubectl_complete-llmbench"}; pl.Bin != bin || !slices.Equal(from, want) {
			t.Errorf("%s: bin %q files %v, want %s and files %v", key, pl.Bin, from, bin, want)
		}
	}
	if len(seen) != len(platforms) {
		t.Errorf("platforms %v, want %d", seen, len(platforms))
	}
}

func fakeSum(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

func TestKrewTemplateRejectsForeignURLs(t *testing.T) {
	_, err := render(`{{addURIAndSha "https://github.com/other/repo/releases/download/{{ .TagName }}/x.tar.gz" .TagName }}`, "v1.2.3",
		func(string) (string, string, error) { return "", "", nil })
	if err == nil || !strings.Contains(err.Error(), "release download URL") {
		t.Errorf("error %v, want the URL refused", err)
	}
}

func TestKrewTemplateNeedsEveryArchive(t *testing.T) {
	_, err := render(`{{addURIAndSha "`+releases+`{{ .TagName }}/kubectl-llmbench_{{ .TagName }}_linux_amd64.tar.gz" .TagName }}`, "v1.2.3",
		func(name string) (string, string, error) {
			sum, err := sha256File(filepath.Join(t.TempDir(), name))
			return name, sum, err
		})
	if err == nil || !strings.Contains(err.Error(), "kubectl-llmbench_v1.2.3_linux_amd64.tar.gz") {
		t.Errorf("error %v, want the missing archive named", err)
	}
}
