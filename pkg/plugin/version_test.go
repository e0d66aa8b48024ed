package plugin

import (
	"bytes"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"
)

func TestVersionBuildInfo(t *testing.T) {
	t.Parallel()
	vcs := &debug.BuildInfo{
		Main: debug.Module{Version: "v0.3.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"},
			{Key: "vcs.time", Value: "2026-11-27T17:03:01Z"},
		},
	}
	dirty := &debug.BuildInfo{
		Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	cases := []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  BuildInfo
	}{
		{"ldflags win over the build info", "v1.2.3", "feedbeef", "2026-12-01T00:00:00Z", vcs,
			BuildInfo{Version: "v1.2.3", Commit: "feedbeef", Date: "2026-12-01T00:00:00Z"}},
		{"go install pkg@version and a git checkout", "", "", "", vcs,
			BuildInfo{Version: "v0.3.0", Commit: "0123abcd", Date: "2026-11-27T17:03:01Z"}},
		{"a checkout with local changes", "", "", "", dirty,
			BuildInfo{Version: "dev", Commit: "0123abcd-dirty", Date: "unknown"}},
		{"only the version stamped", "v1.2.3", "", "", dirty,
			BuildInfo{Version: "v1.2.3", Commit: "0123abcd-dirty", Date: "unknown"}},
		{"nothing known", "", "", "", nil,
			BuildInfo{Version: "dev", Commit: "unknown", Date: "unknown"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := buildInfo(tc.version, tc.commit, tc.date, tc.bi)
			tc.want.GoVersion, tc.want.Platform = runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func runRoot(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	root := NewCmdRoot(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb})
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errb.String(), err
}

// Not parallel: it stamps the package's ldflags variables.
func TestVersionCommand(t *testing.T) {
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "v1.2.3", "feedbeef", "2026-12-01T00:00:00Z"
	want := BuildInfo{Version: "v1.2.3", Commit: "feedbeef", Date: "2026-12-01T00:00:00Z",
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}

	out, _, err := runRoot("version")
	if err != nil {
		t.Fatal(err)
	}
	line := "kubectl-llmbench v1.2.3 (commit feedbeef, built 2026-12-01T00:00:00Z, " + want.GoVersion + ", " + want.Platform + ")\n"
	if out != line {
		t.Errorf("version printed %q, want %q", out, line)
	}
	if Version() != "v1.2.3" {
		t.Errorf("Version() = %q, want the stamped v1.2.3 (manifests record it)", Version())
	}

	for _, format := range []string{"json", "yaml", "JSON"} {
		out, _, err := runRoot("version", "-o", format)
		if err != nil {
			t.Fatalf("-o %s: %v", format, err)
		}
		var got BuildInfo
		if strings.EqualFold(format, "json") {
			err = json.Unmarshal([]byte(out), &got)
		} else {
			err = yaml.UnmarshalStrict([]byte(out), &got)
		}
		if err != nil || got != want {
			t.Errorf("-o %s: got %+v (%v) from\n%s", format, got, err, out)
		}
	}
	if _, _, err := runRoot("version", "--output", "xml"); err == nil || !strings.Contains(err.Error(), "use json or yaml") {
		t.Errorf("--output xml: error %v, want one that names json and yaml", err)
	}
}
