package sim

import (
	"encoding/json"
	"errors"
)

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type streamOptions struct {
	IncludeUsage         *bool `json:"include_usage"`
	ContinuousUsageStats bool  `json:"continuous_usage_stats"`
}

// openAIRequest holds the chat and completions request fields the three
// engines read. Unknown fields are ignored, as all three servers do.
type openAIRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Prompt              json.RawMessage `json:"prompt"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	MinTokens           int             `json:"min_tokens"`
	IgnoreEOS           bool            `json:"ignore_eos"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Seed                *int64          `json:"seed"`
}

func (r *openAIRequest) chatPromptTokens() int { return chatPromptTokens(r.chatContents()) }

func (r *openAIRequest) chatContents() []string {
	texts := make([]string, len(r.Messages))
	for i, m := range r.Messages {
		texts[i] = messageContentText(m.Content)
	}
	return texts
}

// chatMaxTokens prefers max_completion_tokens, the newer name, as vLLM and
// TGI do.
func (r *openAIRequest) chatMaxTokens() *int {
	if r.MaxCompletionTokens != nil {
		return r.MaxCompletionTokens
	}
	return r.MaxTokens
}

var errBatchedPrompt = errors.New("the simulator serves one prompt per request; send prompt as a string")

// completionPromptTokens reads a completions prompt: a string, token ids,
// or a one-element list of either.
func completionPromptTokens(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errors.New("prompt is required")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return max(1, textTokens(s)), nil
	}
	var ids []int64
	if json.Unmarshal(raw, &ids) == nil {
		return max(1, len(ids)), nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return 0, errors.New("prompt must be a string, a list of strings or a list of token ids")
	}
	if len(list) != 1 {
		return 0, errBatchedPrompt
	}
	return completionPromptTokens(list[0])
}
