package workload

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// Story is a built-in realistic conversation (templates/scenarios): a
// persona, a system prompt and the user's turns, for demo, race, inspect
// and conversation. Fact is planted in the first turn and Recall asks for
// it in the last, so a multi-turn run can check that each engine kept its
// context; Expect lists what a correct answer must contain.
type Story struct {
	ID        int      `json:"id"`
	Name      string   `json:"name"`
	Title     string   `json:"title"`
	Persona   string   `json:"persona"`
	System    string   `json:"system"`
	Turns     []string `json:"turns"`
	Fact      string   `json:"fact"`
	Recall    string   `json:"recall"`
	Expect    []string `json:"expect"`
	MaxTokens int      `json:"max_tokens"`
}

// LoadStories reads every *.yaml of dir in fsys, ordered by id.
func LoadStories(fsys fs.FS, dir string) ([]Story, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []Story
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		var s Story
		if err := yaml.UnmarshalStrict(b, &s); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", n, err)
		}
		if s.ID <= 0 || s.Title == "" || len(s.Turns) == 0 {
			return nil, fmt.Errorf("scenario %s needs an id above 0, a title and at least one turn", n)
		}
		if s.MaxTokens <= 0 {
			s.MaxTokens = 256
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Story) int { return a.ID - b.ID })
	for i := 1; i < len(out); i++ {
		if out[i].ID == out[i-1].ID {
			return nil, fmt.Errorf("two scenarios have id %d", out[i].ID)
		}
	}
	return out, nil
}

// FindStory returns the story with id n, or an error listing the ids.
func FindStory(stories []Story, n int) (Story, error) {
	var ids []string
	for _, s := range stories {
		if s.ID == n {
			return s, nil
		}
		ids = append(ids, fmt.Sprint(s.ID))
	}
	return Story{}, fmt.Errorf("no scenario %d: choose one of %s (kubectl llmbench demo --list)", n, strings.Join(ids, ", "))
}

// FirstRequest is the story's opening: system prompt and first turn.
func (s Story) FirstRequest() engine.Request {
	return s.Request(nil, s.Turns[0])
}

// Request continues history (earlier user and assistant turns) with a new
// user turn.
func (s Story) Request(history []engine.Message, user string) engine.Request {
	var msgs []engine.Message
	if s.System != "" {
		msgs = append(msgs, engine.Message{Role: "system", Content: strings.TrimSpace(s.System)})
	}
	msgs = append(msgs, history...)
	msgs = append(msgs, engine.Message{Role: "user", Content: strings.TrimSpace(user)})
	return engine.Request{Messages: msgs, MaxTokens: s.MaxTokens}
}

// Recalled reports whether an answer contains every expected piece,
// ignoring case.
func (s Story) Recalled(answer string) bool {
	if len(s.Expect) == 0 {
		return false
	}
	a := strings.ToLower(answer)
	for _, e := range s.Expect {
		if !strings.Contains(a, strings.ToLower(e)) {
			return false
		}
	}
	return true
}

// Speaker is the persona's name, for transcripts ("Maya, an on-call…").
func (s Story) Speaker() string {
	name, _, _ := strings.Cut(s.Persona, ",")
	if f := strings.Fields(name); len(f) == 1 {
		return f[0]
	}
	return "User"
}
