package workload

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shareGPT writes a ShareGPT file of n conversations: a system turn on
// every third, then human/gpt turns whose lengths vary with the index.
func shareGPT(n int) []byte {
	type turn struct {
		From  string `json:"from"`
		Value string `json:"value"`
	}
	type conv struct {
		ID            string `json:"id"`
		Conversations []turn `json:"conversations"`
	}
	var out []conv
	for i := range n {
		c := conv{ID: fmt.Sprint(i)}
		if i%3 == 0 {
			c.Conversations = append(c.Conversations, turn{"system", "You are terse."})
		}
		c.Conversations = append(c.Conversations,
			turn{"human", fmt.Sprintf("Question %d: %s", i, strings.Repeat("why ", i%7+1))},
			turn{"gpt", strings.Repeat("abcd", 10*(i%5+1))},
			turn{"human", "and then?"})
		out = append(out, c)
	}
	b, _ := json.MarshalIndent(out, "", " ")
	return b
}

func readString(t *testing.T, s string, spec DatasetSpec) (*Dataset, error) {
	t.Helper()
	return ReadDataset(strings.NewReader(s), spec, 1)
}

func TestShareGPTKeepsTheFirstTurnAndItsAnswersLength(t *testing.T) {
	ds, err := readString(t, string(shareGPT(10)), DatasetSpec{Path: "sg.json"})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Format != DatasetShareGPT || ds.Read != 10 || ds.Kept != 10 || len(ds.Entries) != 10 {
		t.Fatalf("%+v", ds)
	}
	for i, e := range ds.Entries {
		last := e.Messages[len(e.Messages)-1]
		if last.Role != "user" || !strings.HasPrefix(last.Content, fmt.Sprintf("Question %d:", i)) {
			t.Errorf("entry %d ends with %+v", i, last)
		}
		if wantSys := i%3 == 0; (e.Messages[0].Role == "system") != wantSys || len(e.Messages) != map[bool]int{true: 2, false: 1}[wantSys] {
			t.Errorf("entry %d: messages %+v", i, e.Messages)
		}
		if e.OutputTokens != 10*(i%5+1) || e.Record != fmt.Sprintf("record %d", i) {
			t.Errorf("entry %d: output %d tokens from %s", i, e.OutputTokens, e.Record)
		}
	}
	// The filters count what they leave out.
	ds, err = readString(t, string(shareGPT(10)), DatasetSpec{Path: "sg.json", MaxOutputTokens: 30, MinInputTokens: 4})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Kept != 6 || ds.Skipped["output above max_output_tokens"] != 4 {
		t.Errorf("kept %d, skipped %v", ds.Kept, ds.Skipped)
	}
}

func TestMessagesJSONLAndPromptLines(t *testing.T) {
	jsonl := `{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hello "},{"type":"text","text":"there"}]},{"role":"assistant","content":"` + strings.Repeat("x", 40) + `"}]}

{"prompt":"just a prompt","output_tokens":77}
{"conversations":[{"from":"human","value":"sharegpt as jsonl"}]}
{"messages":[{"role":"assistant","content":"no question"}]}
`
	ds, err := readString(t, "\xef\xbb\xbf"+jsonl, DatasetSpec{Path: "m.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Format != DatasetMessages || ds.Read != 4 || ds.Kept != 3 || ds.Skipped["no user turn"] != 1 {
		t.Fatalf("%+v", ds)
	}
	e := ds.Entries
	if e[0].Messages[1].Content != "hello there" || e[0].OutputTokens != 10 || e[0].Record != "line 1" ||
		e[1].OutputTokens != 77 || e[1].Record != "line 3" || e[2].Messages[0].Content != "sharegpt as jsonl" {
		t.Errorf("entries %+v", e)
	}
	ds, err = readString(t, "# a comment\nfirst prompt\n\n  second prompt  \n", DatasetSpec{Path: "p.txt"})
	if err != nil || ds.Format != DatasetPrompts || ds.Kept != 2 || ds.Entries[1].Messages[0].Content != "second prompt" || ds.Entries[1].Record != "line 4" {
		t.Fatalf("%+v %v", ds, err)
	}
}

func TestBadDatasetsNameTheFileAndRecord(t *testing.T) {
	cases := []struct {
		name, body string
		spec       DatasetSpec
		want       []string
	}{
		{"broken record", `[{"conversations":[{"from":"human","value":"a"}]}, {"conversations": [{"from": "human", "value": 3}]}]`, DatasetSpec{},
			[]string{"d.json", "record 1"}},
		{"unknown speaker", `[{"conversations":[{"from":"bot","value":"a"}]}]`, DatasetSpec{}, []string{"record 0", `"bot"`, "human, gpt or system"}},
		{"unterminated", `[{"conversations":[]}`, DatasetSpec{}, []string{"d.json", "does not end"}},
		{"bad line", "{\"prompt\":\"a\"}\n{\"prompt\":\n", DatasetSpec{}, []string{"d.json line 2", "not a JSON object"}},
		{"neither shape", `{"text":"a"}`, DatasetSpec{}, []string{"line 1", `"conversations"`, `"messages"`}},
		{"bad role", `{"messages":[{"role":"robot","content":"a"}]}`, DatasetSpec{}, []string{"line 1", "messages[0].role", "robot"}},
		{"bad format", `[]`, DatasetSpec{Format: "csv"}, []string{"workload.dataset.format", "csv", "sharegpt"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Path = "d.json"
			_, err := readString(t, tc.body, tc.spec)
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
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, []byte("[]"), 0o644)
	if _, err := LoadDataset(DatasetSpec{Path: empty}, 1); err == nil || !strings.Contains(err.Error(), "no conversation") {
		t.Errorf("empty: %v", err)
	}
	filtered := filepath.Join(dir, "f.json")
	os.WriteFile(filtered, shareGPT(4), 0o644)
	if _, err := LoadDataset(DatasetSpec{Path: filtered, MinOutputTokens: 1000}, 1); err == nil || !strings.Contains(err.Error(), "4 output below min_output_tokens") {
		t.Errorf("all filtered: %v", err)
	}
	if _, err := LoadDataset(DatasetSpec{Path: filepath.Join(dir, "missing.json")}, 1); err == nil || !strings.Contains(err.Error(), "--dataset") {
		t.Errorf("missing: %v", err)
	}
}

func TestParseDatasetFilter(t *testing.T) {
	var s DatasetSpec
	if err := ParseDatasetFilter("input=16-2048, output=-512", "--dataset-filter", &s); err != nil {
		t.Fatal(err)
	}
	if s.MinInputTokens != 16 || s.MaxInputTokens != 2048 || s.MinOutputTokens != 0 || s.MaxOutputTokens != 512 {
		t.Errorf("%+v", s)
	}
	for spec, want := range map[string]string{"input=5": "input=MIN-MAX", "prompt=1-2": "input=MIN-MAX", "input=a-3": `"a"`, "output=9-3": "above the maximum"} {
		if err := ParseDatasetFilter(spec, "--dataset-filter", &DatasetSpec{}); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--dataset-filter") {
			t.Errorf("%s: %v", spec, err)
		}
	}
}

// FuzzReadDataset: any bytes give an error or entries that can be sent,
// every one ending with a non-empty user turn.
func FuzzReadDataset(f *testing.F) {
	f.Add(shareGPT(3))
	f.Add([]byte(`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}` + "\n" + `{"prompt":"p","output_tokens":3}`))
	f.Add([]byte("a prompt\n# comment\nanother\n"))
	f.Add([]byte(`[{"conversations":[{"from":"gpt","value":"x"},{"from":"human","value":""}]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := ReadDataset(strings.NewReader(string(b)), DatasetSpec{Path: "fuzz"}, 1)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		if ds.Kept != len(ds.Entries) || ds.Read < ds.Kept {
			t.Fatalf("read %d kept %d entries %d", ds.Read, ds.Kept, len(ds.Entries))
		}
		for _, e := range ds.Entries {
			last := e.Messages[len(e.Messages)-1]
			if last.Role != "user" || strings.TrimSpace(last.Content) == "" || e.OutputTokens < 0 || e.Record == "" {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}
