package plugin

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// loadPrompts builds the request templates: the system prompt, then each
// prompt from the config and the prompt file as the user turn. Prompts
// shaped to --input-tokens replace the messages but keep the template's
// temperature and seed, so there is always one.
func loadPrompts(w workload.Workload) ([]engine.Request, error) {
	if w.InputTokens != "" && len(w.Prompts) == 0 && w.PromptFile == "" {
		return []engine.Request{{Temperature: w.Temperature, Seed: w.Seed}}, nil
	}
	var out []engine.Request
	mk := func(user string) engine.Request {
		var msgs []engine.Message
		if w.SystemPrompt != "" {
			msgs = append(msgs, engine.Message{Role: "system", Content: w.SystemPrompt})
		}
		msgs = append(msgs, engine.Message{Role: "user", Content: user})
		return engine.Request{Messages: msgs, Temperature: w.Temperature, Seed: w.Seed}
	}
	for _, p := range w.Prompts {
		out = append(out, mk(p))
	}
	if w.PromptFile != "" {
		f, err := os.Open(w.PromptFile)
		if err != nil {
			return nil, fmt.Errorf("workload.prompt_file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		n := 0
		for sc.Scan() {
			n++
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if !strings.HasPrefix(line, "{") {
				out = append(out, mk(line))
				continue
			}
			var obj struct {
				Prompt   string           `json:"prompt"`
				Messages []engine.Message `json:"messages"`
			}
			if err := json.Unmarshal([]byte(line), &obj); err != nil {
				return nil, fmt.Errorf("%s line %d: not a JSON object with \"prompt\" or \"messages\": %w", w.PromptFile, n, err)
			}
			switch {
			case len(obj.Messages) > 0:
				out = append(out, engine.Request{Messages: obj.Messages, Temperature: w.Temperature, Seed: w.Seed})
			case obj.Prompt != "":
				out = append(out, mk(obj.Prompt))
			default:
				return nil, fmt.Errorf("%s line %d: give \"prompt\" or \"messages\"", w.PromptFile, n)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", w.PromptFile, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no prompts: set workload.prompts or a non-empty --prompt-file")
	}
	return out, nil
}

// datasetPrompts are the request templates of a dataset: each
// conversation's messages up to its first user turn (the dataset's own
// system turns, not workload.system_prompt), asking for as many tokens as
// its answer had; a conversation without one asks for max_tokens. The
// later user turns are what multi-turn scenarios say next.
func datasetPrompts(ds *workload.Dataset, w workload.Workload) ([]engine.Request, [][]string) {
	out := make([]engine.Request, len(ds.Entries))
	followUps := make([][]string, len(ds.Entries))
	for i, e := range ds.Entries {
		out[i] = engine.Request{Messages: e.Messages, MaxTokens: e.OutputTokens, Temperature: w.Temperature, Seed: w.Seed}
		followUps[i] = e.FollowUps
	}
	return out, followUps
}
