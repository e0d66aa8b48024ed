package sim

import (
	"encoding/json"
	"net/http"
)

// The simulators count a prompt the way they bill it in usage, so a
// count from /tokenize matches the prompt_tokens of the same text sent.

// vllmTokenize serves vLLM's POST /tokenize: a completion prompt or chat
// messages (then with the chat template, as usage.prompt_tokens counts),
// answered with count, max_model_len and the ids. [UNSURE] token_strs is
// present only when asked for (return_token_strs); it is left out.
func (e *backend) vllmTokenize(w http.ResponseWriter, r *http.Request) {
	var req openAIRequest
	if err := decodeBody(w, r, &req); err != nil {
		vllmError(w, http.StatusBadRequest, err.Error())
		return
	}
	var n int
	switch {
	case len(req.Messages) > 0:
		n = req.chatPromptTokens()
	case len(req.Prompt) > 0:
		var s string
		if err := json.Unmarshal(req.Prompt, &s); err != nil {
			vllmError(w, http.StatusBadRequest, "prompt must be a string")
			return
		}
		if s == "" {
			n = 0 // vLLM answers an empty prompt with no tokens
		} else {
			n = textTokens(s)
		}
	default:
		vllmError(w, http.StatusBadRequest, "give prompt or messages")
		return
	}
	b := append([]byte(nil), `{"count":`...)
	b = appendInt(b, int64(n))
	b = append(b, `,"max_model_len":`...)
	b = appendInt(b, vllmMaxLen)
	b = append(b, `,"tokens":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendInt(b, int64(1000+i))
	}
	b = append(b, "]}"...)
	writeJSON(w, http.StatusOK, vllmJSON, b)
}

// tgiTokenize serves TGI's POST /tokenize: {"inputs": TEXT} answered with
// one {id, text, start, stop} per token, the offsets into the text.
// [UNSURE] TGI applies no chat template here (its /chat_tokenize does).
func (e *backend) tgiTokenize(w http.ResponseWriter, r *http.Request) {
	var req tgiGenerateRequest
	if err := decodeBody(w, r, &req); err != nil || req.Inputs == nil {
		tgiError(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: missing field `inputs`", "validation")
		return
	}
	text := *req.Inputs
	type token struct {
		ID    int    `json:"id"`
		Text  string `json:"text"`
		Start int    `json:"start"`
		Stop  int    `json:"stop"`
	}
	tokens := []token{}
	eachToken(text, func(start, stop int) {
		tokens = append(tokens, token{ID: 1000 + len(tokens), Text: text[start:stop], Start: start, Stop: stop})
	})
	b, err := json.Marshal(tokens)
	if err != nil {
		tgiError(w, http.StatusInternalServerError, err.Error(), "tokenizer")
		return
	}
	writeJSON(w, http.StatusOK, tgiJSON, b)
}
