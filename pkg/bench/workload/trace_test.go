package workload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAzureTraceCSV(t *testing.T) {
	csv := "TIMESTAMP,ContextTokens,GeneratedTokens\n" +
		"2023-11-16 18:15:46.6805900,374,44\n" +
		"2023-11-16 18:15:46.6805900,396,109\n" +
		"2023-11-16 18:15:47.1805900,879,34\n" +
		"\n" +
		"2023-11-16 18:15:49.0000000,91,1\n"
	tr, err := ReadTrace(strings.NewReader(csv), "azure.csv", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []TraceEntry{{0, 374, 44}, {0, 396, 109}, {500 * time.Millisecond, 879, 34}, {2319410 * time.Microsecond, 91, 1}}
	if tr.Requests != 4 || len(tr.Entries) != 4 {
		t.Fatalf("%+v", tr)
	}
	for i, w := range want {
		if tr.Entries[i] != w {
			t.Errorf("entry %d = %+v, want %+v", i, tr.Entries[i], w)
		}
	}
	if tr.SpanS != 2.31941 {
		t.Errorf("span %g", tr.SpanS)
	}
	// Twice as fast halves every offset.
	fast, err := ReadTrace(strings.NewReader(csv), "azure.csv", 2)
	if err != nil || fast.Entries[2].Offset != 250*time.Millisecond {
		t.Errorf("speed 2: %+v %v", fast, err)
	}
}

func TestMooncakeTraceJSONL(t *testing.T) {
	jsonl := `{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47]}
{"timestamp": 30535, "input_length": 6472, "output_length": 26, "hash_ids": [46]}

{"timestamp": 30535, "input_length": 100, "output_length": 7}
`
	tr, err := ReadTrace(strings.NewReader(jsonl), "mooncake.jsonl", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Entries) != 3 || tr.Entries[1] != (TraceEntry{3053 * time.Millisecond, 6472, 26}) || tr.Entries[2].Offset != tr.Entries[1].Offset {
		t.Errorf("%+v", tr.Entries)
	}
	// Plain columns in seconds; lengths may be left out.
	tr, err = ReadTrace(strings.NewReader("arrival_s,input_tokens\n0.5,10\n1.25,\n"), "p.csv", 1)
	if err != nil || tr.Entries[1] != (TraceEntry{750 * time.Millisecond, 0, 0}) {
		t.Errorf("%+v %v", tr, err)
	}
}

func TestBadTracesNameTheLine(t *testing.T) {
	cases := []struct {
		name, body string
		speed      float64
		want       []string
	}{
		{"decreasing", "timestamp,input_length,output_length\n100,5,5\n90,5,5\n", 1, []string{"t.csv line 3", "before the previous", "sort it"}},
		{"decreasing jsonl", "{\"timestamp\":5}\n{\"timestamp\":4}\n", 1, []string{"t.csv line 2", "before the previous"}},
		{"no time column", "when,input_length\n1,2\n", 1, []string{"line 1", "TIMESTAMP", "offset_ms"}},
		{"bad time", "TIMESTAMP,ContextTokens\nyesterday,3\n", 1, []string{"line 2", "yesterday", "date-time"}},
		{"bad tokens", "timestamp,input_length\n1,many\n", 1, []string{"line 2", "input tokens", "many"}},
		{"negative tokens", "{\"timestamp\":1,\"output_length\":-4}\n", 1, []string{"line 1", "output tokens -4"}},
		{"no time key", "{\"input_length\":3}\n", 1, []string{"line 1", "no arrival time"}},
		{"empty", "TIMESTAMP,ContextTokens,GeneratedTokens\n", 1, []string{"t.csv", "no requests"}},
		{"bad speed", "timestamp\n1\n", -1, []string{"--trace-speed", "> 0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTrace(strings.NewReader(tc.body), "t.csv", tc.speed)
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

// A load test with a trace replays it; the fields a trace decides are
// refused.
func TestTraceScenario(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.csv")
	os.WriteFile(path, []byte("timestamp,input_length,output_length\n0,100,4\n1000,200,8\n1500,300,16\n"), 0o644)
	c := Default()
	c.TestScenarios.LoadTests = []LoadTest{{Name: "replay", Trace: path, TraceSpeed: 2, MaxConcurrency: 8}}
	sc, err := c.Scenarios("load")
	if err != nil {
		t.Fatal(err)
	}
	s := sc[0]
	if s.Arrival != ArrivalTrace || !s.Arrival.Open() || s.Trace == nil || s.Trace.Requests != 3 || s.Concurrency != 8 ||
		s.ExpectedRequests() != 3 || s.ExpectedDuration() != 750*time.Millisecond {
		t.Fatalf("%+v", s)
	}
	c.TestScenarios.LoadTests = []LoadTest{{Name: "replay", Trace: path, Rate: 3}}
	if _, err := c.Scenarios("load"); err == nil || !strings.Contains(err.Error(), "remove rate") {
		t.Errorf("rate with a trace: %v", err)
	}
	c.TestScenarios.LoadTests = []LoadTest{{Name: "replay", Trace: path, Arrival: "poisson"}}
	if _, err := c.Scenarios("load"); err == nil || !strings.Contains(err.Error(), "set it to trace") {
		t.Errorf("poisson with a trace: %v", err)
	}
	c.TestScenarios.LoadTests = []LoadTest{{Name: "replay", Trace: filepath.Join(t.TempDir(), "none.csv")}}
	if _, err := c.Scenarios("load"); err == nil || !strings.Contains(err.Error(), "load_tests[0].trace") {
		t.Errorf("missing trace: %v", err)
	}
}

// FuzzReadTrace: any bytes give an error or a schedule that never goes
// back in time, with lengths in range.
func FuzzReadTrace(f *testing.F) {
	f.Add([]byte("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:47.1,3,4\n"))
	f.Add([]byte(`{"timestamp": 27482, "input_length": 6955, "output_length": 52}` + "\n" + `{"timestamp": 27483}`))
	f.Add([]byte("arrival_s,input_tokens\n0.5,10\n1.25,\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ReadTrace(strings.NewReader(string(b)), "fuzz", 1.5)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz") && !strings.Contains(err.Error(), "trace") {
				t.Errorf("error %q names neither the file nor the trace", err)
			}
			return
		}
		if tr.Requests != len(tr.Entries) || tr.Requests == 0 || tr.Entries[0].Offset != 0 {
			t.Fatalf("%+v", tr)
		}
		for i, e := range tr.Entries {
			if e.Input < 0 || e.Output < 0 || e.Input > MaxShapedTokens || (i > 0 && e.Offset < tr.Entries[i-1].Offset) {
				t.Fatalf("entry %d: %+v", i, e)
			}
		}
	})
}
