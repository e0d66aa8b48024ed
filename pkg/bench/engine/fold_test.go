package engine

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// The fold reads no clock: events at exact offsets give exact timings,
// whatever the machine is doing.
func TestTimingFoldIsExactForEventsAtGivenOffsets(t *testing.T) {
	ms := time.Millisecond
	steps := []struct {
		ev  Event
		off time.Duration
	}{
		{Event{Role: true}, 4 * ms}, // a role-only chunk is no token
		{Event{Reasoning: []byte("hmm")}, 10 * ms},
		{Event{Text: []byte("Hel")}, 25 * ms},
		{Event{Text: []byte("lo"), FinishReason: []byte("length")}, 40 * ms},
		{Event{HasUsage: true, PromptTokens: 7, OutputTokens: 3, Done: true}, 41 * ms},
	}
	rec := Record{RequestedOutputTokens: 3}
	f := timingFold{api: APIChat}
	chunks := 0
	for _, s := range steps {
		if f.fold(&rec, &s.ev, s.off) {
			chunks++
		}
	}
	f.finish(&rec, true, 50*ms)
	exactMS(t, "ttft", rec.TTFTMS, 10)
	exactMS(t, "ttft to content", rec.TTFTContentMS, 25)
	exactMS(t, "e2e", rec.E2EMS, 50)
	exactMS(t, "tpot", rec.TPOTMS, 20) // (50 - 10) / (3 - 1)
	if !rec.OK || chunks != 3 || rec.Chunks != 3 || rec.ReasoningChunks != 1 {
		t.Errorf("ok %v, %d chunks folded, record %d chunks (%d reasoning)", rec.OK, chunks, rec.Chunks, rec.ReasoningChunks)
	}
	if !slices.Equal(rec.ITLMS, []float64{15, 15}) || !slices.Equal(rec.ChunkOffsetMS, []float64{10, 25, 40}) {
		t.Errorf("itl %v, chunk offsets %v", rec.ITLMS, rec.ChunkOffsetMS)
	}
	if rec.PromptTokens != 7 || rec.OutputTokens != 3 || rec.OutputTokensSource != TokensFromUsage || rec.FinishReason != "length" || rec.OutputMismatch {
		t.Errorf("tokens %d→%d (%s), finish %q, mismatch %v", rec.PromptTokens, rec.OutputTokens, rec.OutputTokensSource, rec.FinishReason, rec.OutputMismatch)
	}
}

func TestTimingFoldCountsWithoutUsageAndFailsWithoutText(t *testing.T) {
	// TGI's generate_stream says one token per event; no usage arrives.
	rec := Record{}
	f := timingFold{api: APIGenerateStream}
	for i, ev := range []Event{{Text: []byte("a"), Tokens: 1}, {Special: true, Tokens: 1}, {Text: []byte("b"), Tokens: 1, Done: true}} {
		f.fold(&rec, &ev, time.Duration(i+1)*time.Millisecond)
	}
	f.finish(&rec, true, 5*time.Millisecond)
	if !rec.OK || rec.Chunks != 2 || rec.OutputTokens != 3 || rec.OutputTokensSource != TokensFromChunks {
		t.Errorf("ok %v, chunks %d, output %d (%s)", rec.OK, rec.Chunks, rec.OutputTokens, rec.OutputTokensSource)
	}

	// Done without any text: no TTFT, so no success.
	rec = Record{}
	f = timingFold{api: APIChat}
	f.fold(&rec, &Event{Role: true, Done: true}, time.Millisecond)
	f.finish(&rec, true, 2*time.Millisecond)
	if rec.OK || rec.ErrorClass != ErrNoGenerated || rec.E2EMS == nil {
		t.Errorf("no text: ok %v, class %q, e2e %v", rec.OK, rec.ErrorClass, rec.E2EMS)
	}

	// A stream that never ended has no end-to-end time.
	rec = Record{}
	f.fold(&rec, &Event{Text: []byte("x")}, time.Millisecond)
	f.finish(&rec, false, 9*time.Millisecond)
	if rec.OK || rec.E2EMS != nil || rec.OutputTokens != 1 {
		t.Errorf("unfinished: ok %v, e2e %v, output %d", rec.OK, rec.E2EMS, rec.OutputTokens)
	}
}

// exactMS fails unless a timing is set and exactly want milliseconds.
func exactMS(t *testing.T, name string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s not set, want exactly %g ms", name, want)
	} else if *got != want {
		t.Errorf("%s = %s ms, want exactly %g", name, strconv.FormatFloat(*got, 'g', -1, 64), want)
	}
}
