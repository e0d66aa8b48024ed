package plugin

import (
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func TestParseTarget(t *testing.T) {
	cases := []struct {
		in         string
		name, base string
		typ        engine.EngineType
		api        engine.API
		err        string
	}{
		{in: "vllm=http://127.0.0.1:8000", name: "vllm", typ: engine.EngineVLLM, base: "http://127.0.0.1:8000", api: engine.APIChat},
		{in: "ollama=http://h:11434/", name: "ollama", typ: engine.EngineOllama, base: "http://h:11434", api: engine.APIOllamaChat},
		{in: "tgi=https://tgi.apps.x/generate_stream", name: "tgi", typ: engine.EngineTGI, base: "https://tgi.apps.x", api: engine.APIGenerateStream},
		{in: "ollama=http://h:11434/api/generate", name: "ollama", typ: engine.EngineOllama, base: "http://h:11434", api: engine.APIOllamaGenerate},
		{in: "fp8=vllm+http://h/prefix/v1/completions", name: "fp8", typ: engine.EngineVLLM, base: "http://h/prefix", api: engine.APICompletions},
		{in: "gw=openai+https://llm.example.com", name: "gw", typ: engine.EngineOpenAI, base: "https://llm.example.com", api: engine.APIChat},
		{in: "mine=http://h", err: `unknown engine type "mine"`},
		{in: "vllm", err: "NAME=URL"},
		{in: "vllm=h:8000", err: "http://"},
		{in: "vllm=http://h/generate_stream", err: "does not serve /generate_stream"},
	}
	for _, tc := range cases {
		got, err := parseTarget(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "--target") {
				t.Errorf("%s: error %v, want one naming --target and containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got.Name != tc.name || got.Type != tc.typ || got.BaseURL != tc.base || got.API != tc.api {
			t.Errorf("%s: got %+v", tc.in, got)
		}
	}
}

func TestTargetsFromFlagsConfigAndManualURLs(t *testing.T) {
	cfg := workload.Default()
	cfg.Services.ManualURLs = map[string]string{"tgi": "http://tgi:80", "vllm": "http://ignored:1"}
	cfg.Targets = []workload.TargetConfig{{Name: "extra", Type: "ollama", URL: "http://o:11434", Model: "llama3.2"}}
	ts, err := targetsFrom([]string{"vllm=http://flag:8000"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range ts {
		got = append(got, x.Name+"@"+x.BaseURL+"#"+x.Model)
	}
	want := "vllm@http://flag:8000#,extra@http://o:11434#llama3.2,tgi@http://tgi:80#"
	if strings.Join(got, ",") != want {
		t.Errorf("targets %v, want %s (a flag overrides a manual URL of the same name)", got, want)
	}
	if _, err := targetsFrom([]string{"vllm=http://a", "vllm=http://b"}, workload.Default()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate names: %v", err)
	}
}

func TestModelsAndEngineFilter(t *testing.T) {
	ts := []engine.Target{{Name: "vllm", Type: engine.EngineVLLM}, {Name: "ollama", Type: engine.EngineOllama}, {Name: "gw", Type: engine.EngineOpenAI}}
	if err := applyModels(ts, []string{"m-all", "ollama=llama3.2"}); err != nil {
		t.Fatal(err)
	}
	if ts[0].Model != "m-all" || ts[1].Model != "llama3.2" || ts[2].Model != "m-all" {
		t.Errorf("models %+v", ts)
	}
	if err := applyModels(ts, []string{"nope=x"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown target in --model: %v", err)
	}
	got, err := filterTargets(ts, []string{"openai", "VLLM"})
	if err != nil || len(got) != 2 || got[0].Name != "vllm" || got[1].Name != "gw" {
		t.Errorf("filter by type and name: %+v %v", got, err)
	}
	if _, err := filterTargets(ts, []string{"tgi"}); err == nil || !strings.Contains(err.Error(), "vllm, ollama, gw") {
		t.Errorf("empty filter must list the targets: %v", err)
	}
}

func TestRedactArgs(t *testing.T) {
	got := strings.Join(redactArgs([]string{"run", "--api-key", "s1", "--api-key=s2", "--token", "s3", "--target", "x"}), " ")
	if strings.Contains(got, "s1") || strings.Contains(got, "s2") || strings.Contains(got, "s3") || !strings.Contains(got, "--target x") {
		t.Errorf("redacted: %s", got)
	}
}

func TestCredentialsInURLsAreRefusedAndNeverEchoed(t *testing.T) {
	_, err := parseTarget("vllm=http://bob:s3cret@h:8000")
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "--api-key") {
		t.Errorf("error %v must refuse the URL without echoing the password", err)
	}
	if got := strings.Join(redactArgs([]string{"--target", "vllm=http://bob:s3cret@h:8000"}), " "); strings.Contains(got, "s3cret") {
		t.Errorf("command line kept the password: %s", got)
	}
}

func TestAPIKeysPerTarget(t *testing.T) {
	ts := []engine.Target{{Name: "vllm", BaseURL: "http://127.0.0.1:1"}, {Name: "gw", BaseURL: "http://llm.example.com"}}
	var warn strings.Builder
	if err := applyAPIKeys(ts, "gw=k2==", &warn); err != nil {
		t.Fatal(err)
	}
	if ts[0].APIKey != "" || ts[1].APIKey != "k2==" {
		t.Errorf("keys %q %q", ts[0].APIKey, ts[1].APIKey)
	}
	if !strings.Contains(warn.String(), "unencrypted") || strings.Contains(warn.String(), "k2") {
		t.Errorf("warning %q", warn.String())
	}
	ts[1].APIKey = ""
	if err := applyAPIKeys(ts, "abc=def", &warn); err != nil || ts[0].APIKey != "abc=def" || ts[1].APIKey != "abc=def" {
		t.Errorf("a key that names no target is everyone's key: %q %q", ts[0].APIKey, ts[1].APIKey)
	}
}

func TestGPUMetricsFlag(t *testing.T) {
	specs, err := parseGPUMetrics([]string{"tgi=https://dcgm.example:9400/custom", "http://10.0.0.5:9400"})
	if err != nil {
		t.Fatal(err)
	}
	ts := []engine.Target{{Name: "vllm"}, {Name: "tgi"}}
	if err := applyGPUMetrics(ts, specs); err != nil {
		t.Fatal(err)
	}
	if g := ts[0].GPUMetrics; g == nil || g.URL != "http://10.0.0.5:9400/metrics" {
		t.Errorf("vllm: %+v, want the unscoped URL with /metrics added", g)
	}
	if g := ts[1].GPUMetrics; g == nil || g.URL != "https://dcgm.example:9400/custom" {
		t.Errorf("tgi: %+v, want its own URL over the unscoped one", g)
	}
	for _, bad := range []string{"10.0.0.5:9400", "ftp://x/metrics", "http://u:secret@x:9400"} {
		_, err := parseGPUMetrics([]string{bad})
		if err == nil || !strings.Contains(err.Error(), "--gpu-metrics") || strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: %v, want an error naming the flag and no password", bad, err)
		}
	}
	specs, _ = parseGPUMetrics([]string{"ollama=http://x:9400"})
	if err := applyGPUMetrics(ts, specs); err == nil || !strings.Contains(err.Error(), "vllm, tgi") {
		t.Errorf("unknown target: %v, want the known ones listed", err)
	}
}
