package load

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/templates"
)

func TestBuiltInStories(t *testing.T) {
	stories, err := workload.LoadStories(templates.Scenarios, "scenarios")
	if err != nil {
		t.Fatal(err)
	}
	wantTitles := []string{"Customer support", "Code review", "Creative writing", "Technical documentation", "Business analysis"}
	if len(stories) != len(wantTitles) {
		t.Fatalf("%d scenarios, want 5", len(stories))
	}
	for i, s := range stories {
		if s.ID != i+1 || s.Title != wantTitles[i] || s.System == "" || len(s.Turns) < 2 || s.Fact == "" || s.Recall == "" || len(s.Expect) == 0 {
			t.Errorf("scenario %d incomplete: %+v", i+1, s)
		}
		// The planted fact holds what the recall check expects.
		for _, e := range s.Expect {
			if !strings.Contains(s.Fact, e) {
				t.Errorf("scenario %d expects %q, which its fact does not say", s.ID, e)
			}
		}
		if !s.Recalled("Sure: "+s.Fact) || s.Recalled("I do not remember.") {
			t.Errorf("scenario %d: recall check is not discriminating", s.ID)
		}
	}
	if !strings.Contains(stories[1].Turns[0], "def merge_intervals") {
		t.Error("the code review has no real Python function")
	}
	if _, err := workload.FindStory(stories, 9); err == nil || !strings.Contains(err.Error(), "1, 2, 3, 4, 5") {
		t.Errorf("unknown scenario: %v", err)
	}
}

func TestLoadStoriesRejectsTypos(t *testing.T) {
	fsys := fstest.MapFS{"s/1.yaml": {Data: []byte("id: 1\ntitle: T\nturns: [hi]\npersona_name: x\n")}}
	if _, err := workload.LoadStories(fsys, "s"); err == nil || !strings.Contains(err.Error(), "persona_name") {
		t.Errorf("unknown field: %v", err)
	}
}

func TestConversationLayout(t *testing.T) {
	s := workload.Story{System: "sys", Turns: []string{"a", "b"}, Fact: "F.", Recall: "what was F?"}
	turns := Conversation(s, 5, true)
	want := []string{"F.\n\na", "b", "a", "b", "what was F?"}
	if strings.Join(turns, "|") != strings.Join(want, "|") {
		t.Errorf("turns %q, want %q", turns, want)
	}
	if got := Conversation(s, 0, false); len(got) != 2 {
		t.Errorf("as written: %q", got)
	}
	// Each engine hears its own answers back, after the system prompt.
	req := s.Request(History([]Exchange{{User: "a", Answer: "A1"}}), "b")
	var roles []string
	for _, m := range req.Messages {
		roles = append(roles, m.Role+":"+m.Content)
	}
	if strings.Join(roles, "|") != "system:sys|user:a|assistant:A1|user:b" {
		t.Errorf("messages %v", roles)
	}
}
