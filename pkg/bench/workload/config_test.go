package workload

import (
	"strings"
	"testing"
	"time"
)

func TestPresetsParseAndValidate(t *testing.T) {
	names := Presets()
	if strings.Join(names, ",") != "quick,standard,stress" {
		t.Fatalf("presets %v, want quick, standard, stress", names)
	}
	for _, n := range names {
		c := Default()
		b, err := PresetYAML(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.MergeYAML(n, b); err != nil {
			t.Fatalf("preset %s: %v", n, err)
		}
		sc, err := c.Scenarios("all")
		if err != nil {
			t.Fatalf("preset %s invalid: %v", n, err)
		}
		if len(sc) < 2 || sc[0].Suite != SuiteTTFT {
			t.Errorf("preset %s: scenarios %+v, want ttft first and at least one load test", n, sc)
		}
		if c.Benchmark.Name != n {
			t.Errorf("preset %s names itself %q", n, c.Benchmark.Name)
		}
	}
	if _, err := PresetYAML("nope"); err == nil || !strings.Contains(err.Error(), "quick, standard, stress") {
		t.Errorf("unknown preset error %v must list the presets", err)
	}
}

func TestQuickPresetFitsInAMinuteForThreeEngines(t *testing.T) {
	c := Default()
	b, _ := PresetYAML("quick")
	if err := c.MergeYAML("quick", b); err != nil {
		t.Fatal(err)
	}
	sc, _ := c.Scenarios("all")
	var timed time.Duration
	for _, s := range sc {
		timed += s.ExpectedDuration()
	}
	if timed*3 > 40*time.Second {
		t.Errorf("quick preset's timed scenarios take %s per engine; three engines must leave room for the TTFT suite within a minute", timed)
	}
}

func TestFileOverridesPresetAndKeepsTheRest(t *testing.T) {
	c := Default()
	b, _ := PresetYAML("standard")
	if err := c.MergeYAML("standard", b); err != nil {
		t.Fatal(err)
	}
	err := c.MergeYAML("file.yaml", []byte("workload:\n  max_tokens: 33\ntest_scenarios:\n  ttft:\n    iterations: 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Workload.MaxTokens != 33 || c.TestScenarios.TTFT.Iterations != 4 {
		t.Errorf("file values not applied: %+v %+v", c.Workload, c.TestScenarios.TTFT)
	}
	if c.TestScenarios.TTFT.TargetMS != 100 || len(c.TestScenarios.LoadTests) != 3 || c.Workload.TimeoutSeconds != 120 {
		t.Errorf("values the file does not mention must keep the preset's: %+v", c.TestScenarios)
	}
}

func TestBadConfigNamesFieldValueAndAllowed(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", "test_scenarios:\n  ttft:\n    iteratons: 3\n", []string{"file.yaml", "iteratons"}},
		{"bad users", "test_scenarios:\n  load_tests:\n    - name: x\n      concurrent_users: -3\n      duration_seconds: 5\n",
			[]string{"test_scenarios.load_tests[0].concurrent_users", "-3", "≥ 1"}},
		{"bad arrival", "test_scenarios:\n  load_tests:\n    - name: x\n      arrival: bursty\n      rate: 3\n      duration_seconds: 5\n",
			[]string{"load_tests[0].arrival", "bursty", "closed, constant, poisson or trace"}},
		{"open without rate", "test_scenarios:\n  load_tests:\n    - name: x\n      arrival: poisson\n      duration_seconds: 5\n",
			[]string{"load_tests[0].rate", "> 0"}},
		{"no stop", "test_scenarios:\n  load_tests:\n    - name: x\n      concurrent_users: 2\n",
			[]string{"load_tests[0]", "duration_seconds or requests"}},
		{"bad think time", "test_scenarios:\n  load_tests:\n    - name: x\n      concurrent_users: 2\n      duration_seconds: 3\n      think_time: soon\n",
			[]string{"file.yaml", "soon", "500ms"}},
		{"bad max tokens", "workload:\n  max_tokens: 0\n", []string{"workload.max_tokens", "0"}},
		{"bad metric", "test_scenarios:\n  load_tests:\n    - name: x\n      concurrent_users: 2\n      duration_seconds: 3\n      target_metric: speed\n",
			[]string{"target_metric", "speed", "ttft"}},
		{"turns in an open loop", "test_scenarios:\n  load_tests:\n    - {name: x, arrival: poisson, rate: 2, requests: 4, turns: 3}\n",
			[]string{"load_tests[0].turns", "3", "closed-loop users"}},
		{"too many turns", "test_scenarios:\n  load_tests:\n    - {name: x, concurrent_users: 1, requests: 4, turns: 500}\n",
			[]string{"load_tests[0].turns", "500", "1 to 100"}},
		{"unknown distribution", "workload:\n  input_tokens: zipf:3\n", []string{"workload.input_tokens", "zipf", "uniform"}},
		{"tokens beyond any context", "workload:\n  output_tokens: \"20000000\"\n", []string{"workload.output_tokens", "at most 10000000"}},
		{"load test's own tokens", "test_scenarios:\n  load_tests:\n    - {name: x, concurrent_users: 1, requests: 1, input_tokens: \"uniform:9-3\"}\n",
			[]string{"test_scenarios.load_tests[0].input_tokens", "uniform:9-3"}},
		{"duplicate names", "test_scenarios:\n  load_tests:\n    - {name: x, concurrent_users: 1, requests: 1}\n    - {name: x, concurrent_users: 1, requests: 1}\n",
			[]string{"load_tests[1].name", "unique"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			err := c.MergeYAML("file.yaml", []byte(tc.yaml))
			if err == nil {
				_, err = c.Scenarios("all")
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestThinkTimeAcceptsDurationsAndSeconds(t *testing.T) {
	for in, want := range map[string]time.Duration{"500ms": 500 * time.Millisecond, "2s": 2 * time.Second, "1.5": 1500 * time.Millisecond, `"3"`: 3 * time.Second} {
		c := Default()
		y := "test_scenarios:\n  load_tests:\n    - {name: x, concurrent_users: 1, requests: 1, think_time: " + in + "}\n"
		if err := c.MergeYAML("f", []byte(y)); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := c.TestScenarios.LoadTests[0].ThinkTime.Duration; got != want {
			t.Errorf("think_time %s = %s, want %s", in, got, want)
		}
	}
}

func TestSuiteFilter(t *testing.T) {
	c := Default()
	c.TestScenarios.LoadTests = []LoadTest{{Name: "l", ConcurrentUsers: 1, Requests: 2}}
	for suite, want := range map[string]string{"ttft": "ttft", "load": "l", "all": "ttft,l"} {
		sc, err := c.Scenarios(suite)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range sc {
			names = append(names, s.Name)
		}
		if strings.Join(names, ",") != want {
			t.Errorf("suite %s ran %v, want %s", suite, names, want)
		}
	}
	if _, err := c.Scenarios("fast"); err == nil || !strings.Contains(err.Error(), "--suite") {
		t.Errorf("bad suite error %v must name --suite", err)
	}
}

func TestTokenShapesReachEveryScenario(t *testing.T) {
	c := Default()
	yaml := "workload:\n  prompts: []\n  input_tokens: uniform:256-1024\n  output_tokens: \"64\"\n" +
		"test_scenarios:\n  load_tests:\n    - {name: long, concurrent_users: 2, requests: 4, input_tokens: \"4096\"}\n"
	if err := c.MergeYAML("file.yaml", []byte(yaml)); err != nil {
		t.Fatal(err)
	}
	ss, err := c.Scenarios("all")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, s := range ss {
		if s.InputTokens == nil || s.OutputTokens == nil || s.OutputTokens.String() != "64" {
			t.Fatalf("scenario %s: input %v output %v", s.Name, s.InputTokens, s.OutputTokens)
		}
		want := "uniform:256-1024"
		if s.Name == "long" {
			want, seen = "4096", seen+1
		}
		if got := s.InputTokens.String(); got != want {
			t.Errorf("scenario %s: input tokens %s, want %s", s.Name, got, want)
		}
	}
	if seen != 1 || len(ss) < 2 {
		t.Errorf("scenarios = %d, long seen %d", len(ss), seen)
	}
}
