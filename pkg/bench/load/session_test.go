package load

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// A multi-turn user sends its whole conversation every turn: the system
// prompt, each earlier question and the engine's own answer as streamed,
// then the next question (the dataset's own, then the templates').
func TestConversationsCarryTheirHistory(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]engine.Message
	inner := &loadServer{delay: time.Millisecond}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/chat/completions" {
			b, _ := io.ReadAll(r.Body)
			var req struct {
				Messages []engine.Message `json:"messages"`
			}
			if err := json.Unmarshal(b, &req); err != nil {
				t.Errorf("request body: %v", err)
			}
			mu.Lock()
			bodies = append(bodies, req.Messages)
			mu.Unlock()
			r.Body = io.NopCloser(strings.NewReader(string(b)))
		}
		inner.ServeHTTP(w, r)
	}))
	defer hs.Close()
	col := &Collector{}
	r := &Runner{
		Targets:   []engine.Target{{Name: "e", Type: engine.EngineOpenAI, BaseURL: hs.URL, API: engine.APIChat}},
		Scenarios: []workload.Scenario{{Name: "chat", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 1, Requests: 7, MaxTokens: 2, Turns: 3}},
		Prompts: []engine.Request{{Messages: []engine.Message{{Role: "system", Content: "sys"}, {Role: "user", Content: "first"}}},
			{Messages: []engine.Message{{Role: "user", Content: "other"}}}},
		FollowUps: [][]string{{"and then?"}},
		HTTP:      engine.NewHTTPClient(engine.HTTPOptions{}), Clock: engine.NewClock(), Sink: col, Grace: time.Second, Seed: 1,
	}
	if res := r.Run(context.Background()); res.Status != "complete" {
		t.Fatalf("%+v", res)
	}
	recs := col.Snapshot()
	if len(recs) != 7 || len(bodies) != 7 {
		t.Fatalf("%d records, %d bodies", len(recs), len(bodies))
	}
	for _, rec := range recs {
		wantConv, wantTurn := rec.Sequence/3+1, int(rec.Sequence%3)+1
		if rec.Conversation != wantConv || rec.Turn != wantTurn {
			t.Errorf("#%d: conversation %d turn %d, want %d %d", rec.Sequence, rec.Conversation, rec.Turn, wantConv, wantTurn)
		}
	}
	roles := func(ms []engine.Message) string {
		var b strings.Builder
		for _, m := range ms {
			b.WriteString(m.Role[:1])
		}
		return b.String()
	}
	// Conversation 1 opened with template 0 (system + "first"): its next
	// turn is the dataset's follow-up, the one after the question of the
	// template its sequence draws (2 % 2: template 0's, without its system
	// prompt); every answer is "ab", as the server streamed it.
	third := bodies[2]
	if roles(third) != "suauau" || third[1].Content != "first" || third[2].Content != "ab" ||
		third[3].Content != "and then?" || third[4].Content != "ab" || third[5].Content != "first" {
		t.Errorf("turn 3 sent %+v", third)
	}
	if second := bodies[1]; roles(second) != "suau" || second[3].Content != "and then?" {
		t.Errorf("turn 2 sent %+v", second)
	}
	if roles(bodies[3]) != "u" && roles(bodies[3]) != "su" {
		t.Errorf("a new conversation starts afresh: %+v", bodies[3])
	}
}
