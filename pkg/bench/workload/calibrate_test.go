package workload

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"
)

// pieceTokens is a stand-in for a byte-level BPE: text splits into runs of
// letters (with the space before them) and runs of other marks, about
// four bytes a token, never merged across runs.
func pieceTokens(s string) int {
	n := 0
	for i := 0; i < len(s); {
		j := i
		if s[j] == ' ' {
			j++
		}
		letter := j < len(s) && unicode.IsLetter(rune(s[j]))
		for j < len(s) && s[j] != ' ' && unicode.IsLetter(rune(s[j])) == letter {
			j++
		}
		if j == i {
			j++
		}
		n += (j - i + 3) / 4
		i = j
	}
	return n
}

const fakeTemplate = 7

func additiveCounter(calls *atomic.Int64) Counter {
	return Counter{
		Raw: func(_ context.Context, s string) (int, error) { calls.Add(1); return pieceTokens(s), nil },
		Prompt: func(_ context.Context, s string) (int, error) {
			calls.Add(1)
			return fakeTemplate + pieceTokens(s), nil
		},
	}
}

func TestCalibrateIsExactOnAnAdditiveTokenizer(t *testing.T) {
	var calls atomic.Int64
	cal, err := Calibrate(context.Background(), additiveCounter(&calls), []int{64, 512, 2048}, 42)
	if err != nil {
		t.Fatal(err)
	}
	if cal.Method != "tokenize" || !cal.Exact || cal.TemplateTokens == nil || *cal.TemplateTokens != fakeTemplate {
		t.Fatalf("calibration = %+v", cal)
	}
	if want := fakeTemplate + pieceTokens(PromptOpener); cal.BaseTokens != want {
		t.Errorf("base tokens = %d, want %d", cal.BaseTokens, want)
	}
	if int64(cal.Calls) != calls.Load() {
		t.Errorf("calls = %d, the counter saw %d", cal.Calls, calls.Load())
	}
	if len(cal.Checks) != 3 {
		t.Fatalf("checks = %+v", cal.Checks)
	}
	for _, c := range cal.Checks {
		if c.Counted != c.Requested || c.Planned != c.Requested {
			t.Errorf("check %+v", c)
		}
	}
	// Every length from the shortest prompt up is hit exactly, with text
	// that reads like prose and varies by seed.
	for n := cal.BaseTokens; n < 1500; n += 7 {
		text, planned := cal.Text(RequestRand(1, "s", int64(n), "text"), n)
		if planned != n || fakeTemplate+pieceTokens(text) != n {
			t.Fatalf("n=%d: planned %d, counted %d: %q", n, planned, fakeTemplate+pieceTokens(text), text)
		}
		if !strings.HasPrefix(text, PromptOpener) {
			t.Fatalf("n=%d: %q does not start with the opener", n, text)
		}
	}
	a, _ := cal.Text(RequestRand(1, "s", 3, "text"), 400)
	b, _ := cal.Text(RequestRand(1, "s", 3, "text"), 400)
	c, _ := cal.Text(RequestRand(2, "s", 3, "text"), 400)
	if a != b || a == c {
		t.Errorf("texts not reproducible by seed or not varied:\n%q\n%q\n%q", a, b, c)
	}
	if words := strings.Fields(a); len(words) < 100 || strings.Count(a, ".") < 5 {
		t.Errorf("a 400-token prompt has %d words and %d sentences: %q", len(words), strings.Count(a, "."), a)
	}
	distinct := map[string]bool{}
	for _, w := range strings.Fields(strings.ReplaceAll(a, ".", "")) {
		distinct[w] = true
	}
	if len(distinct) < 40 {
		t.Errorf("only %d distinct words in %q", len(distinct), a)
	}
}

func TestCalibrateProbesWithoutATokenizer(t *testing.T) {
	var calls atomic.Int64
	c := additiveCounter(&calls)
	c.Raw = func(context.Context, string) (int, error) { return 0, errors.New("no tokenizer") }
	cal, err := Calibrate(context.Background(), c, []int{100}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if cal.Method != "probe" || cal.TemplateTokens != nil || !cal.Exact {
		t.Errorf("calibration = %+v", cal)
	}
	c.Raw = nil
	if cal, err = Calibrate(context.Background(), c, []int{100}, 1); err != nil || cal.Method != "probe" {
		t.Errorf("no Raw: %+v, %v", cal, err)
	}
}

func TestCalibrateSaysWhenCountsAreNotExact(t *testing.T) {
	// A tokenizer that merges across words (a token per word plus one per
	// 20 bytes of the whole text) breaks the additive plan: the checks
	// say so.
	whole := func(_ context.Context, s string) (int, error) {
		return 3 + len(strings.Fields(s)) + strings.Count(s, ".") + len(s)/20, nil
	}
	cal, err := Calibrate(context.Background(), Counter{Prompt: whole}, []int{300, 900}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if cal.Exact {
		t.Errorf("a non-additive tokenizer calibrated exact: %+v", cal.Checks)
	}
	// Words that cost nothing after the opener cannot be assembled.
	free := func(_ context.Context, s string) (int, error) { return 5, nil }
	if _, err := Calibrate(context.Background(), Counter{Prompt: free}, nil, 1); err == nil || !strings.Contains(err.Error(), "merges across words") {
		t.Errorf("err = %v", err)
	}
	failing := func(_ context.Context, s string) (int, error) { return 0, errors.New("HTTP 500") }
	if _, err := Calibrate(context.Background(), Counter{Prompt: failing}, nil, 1); err == nil || !strings.Contains(err.Error(), PromptOpener) {
		t.Errorf("err = %v", err)
	}
}

func TestEstimatedCalibrationIsLabelled(t *testing.T) {
	cal := EstimatedCalibration(errors.New("no usage in the stream"))
	if cal.Method != "estimate" || cal.Exact || !strings.Contains(cal.Note, "no usage in the stream") {
		t.Errorf("calibration = %+v", cal)
	}
	text, planned := cal.Text(RequestRand(1, "s", 1, "text"), 256)
	if planned != 256 || len(text) < 600 || len(text) > 1400 {
		t.Errorf("planned %d, %d bytes", planned, len(text))
	}
	// Below the shortest prompt the opener alone is sent, and says so.
	if text, planned := cal.Text(RequestRand(1, "s", 1, "text"), 1); text != PromptOpener || planned != cal.BaseTokens {
		t.Errorf("n=1: %q planned %d", text, planned)
	}
}

func TestCheckLengths(t *testing.T) {
	mk := func(spec string) Scenario {
		tl, err := ParseTokenLength(spec, "x")
		if err != nil {
			t.Fatal(err)
		}
		return Scenario{InputTokens: &tl}
	}
	got := CheckLengths([]Scenario{mk("512"), {}, mk("uniform:128-4096"), mk("normal:1024,100"), mk("512")})
	if len(got) != 3 || got[0] != 128 || got[1] != 1024 || got[2] != 4096 {
		t.Errorf("check lengths = %v", got)
	}
	if got := CheckLengths([]Scenario{{}}); len(got) != 0 {
		t.Errorf("no shapes: %v", got)
	}
}

// With a byte-level vocabulary (the tiny test models: a token a byte) no
// word costs one token, so a prompt must not end with a one-token gap that
// only a second full stop could fill; the text and a shared prefix's
// extension still hit every length exactly.
func TestTextHitsEveryLengthWithAByteVocabulary(t *testing.T) {
	bytes := Counter{
		Raw:    func(_ context.Context, s string) (int, error) { return len(s), nil },
		Prompt: func(_ context.Context, s string) (int, error) { return len(s) + 2, nil },
	}
	cal, err := Calibrate(context.Background(), bytes, []int{100, 1000}, 3)
	if err != nil || !cal.Exact {
		t.Fatalf("%+v %v", cal, err)
	}
	// One token past the opener is the exception: only a full stop
	// costs one, and it may not follow the opener's colon.
	for n := cal.BaseTokens + 2; n < 1200; n++ {
		text, planned := cal.Text(RequestRand(3, "s", int64(n), "text"), n)
		if planned != n || len(text)+2 != n {
			t.Fatalf("n=%d: planned %d, %d bytes", n, planned, len(text))
		}
		if strings.Contains(text, "..") {
			t.Fatalf("n=%d: two full stops in a row: %q", n, text)
		}
		prefix, k := cal.Text(RequestRand(3, "p", 0, "prefix"), 300)
		full, added := cal.Extend(RequestRand(3, "s", int64(n), "suffix"), prefix, 64)
		if k != 300 || added != 64 || len(full)+2 != 364 || !strings.HasPrefix(full, prefix) {
			t.Fatalf("prefix %d + %d: %d bytes", k, added, len(full))
		}
	}
}
