package engine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCountTokensReadsBothShapesAndSaysWhatWentWrong(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tokenize" || r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		a := answers["now"]
		w.WriteHeader(a.status)
		w.Write([]byte(a.body))
	}))
	defer srv.Close()
	hc := srv.Client()
	vllm := Target{Name: "v", Type: EngineVLLM, BaseURL: srv.URL, APIKey: "k"}
	tgi := Target{Name: "g", Type: EngineTGI, BaseURL: srv.URL, APIKey: "k"}
	for _, c := range []struct {
		t      Target
		status int
		body   string
		want   int
		err    string
	}{
		{vllm, 200, `{"count":3,"max_model_len":8192,"tokens":[1,2,3]}`, 3, ""},
		{tgi, 200, `[{"id":1,"text":"a","start":0,"stop":1},{"id":2,"text":"b","start":1,"stop":2}]`, 2, ""},
		{vllm, 200, `{"tokens":[1]}`, 0, "without a count"},
		{tgi, 200, `{"count":2}`, 0, "not a list of tokens"},
		{vllm, 401, `{}`, 0, "--api-key"},
		{vllm, 404, `{"detail":"Not Found"}`, 0, "HTTP 404"},
	} {
		answers["now"] = struct {
			status int
			body   string
		}{c.status, c.body}
		n, err := CountTokens(context.Background(), hc, c.t, "ab")
		switch {
		case c.err == "" && (err != nil || n != c.want):
			t.Errorf("%s %s: %d, %v; want %d", c.t.Type, c.body, n, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s %d %s: error %v, want it to say %q", c.t.Type, c.status, c.body, err, c.err)
		}
	}
}

func TestPromptMismatchIsBeyondOnePercent(t *testing.T) {
	for _, tc := range []struct {
		requested, counted int
		want               bool
	}{
		{0, 500, false}, {500, 0, false}, {500, 500, false}, {500, 505, false}, {500, 506, true},
		{500, 494, true}, {50, 51, true}, {2000, 2020, false}, {2000, 1979, true},
	} {
		if got := PromptMismatch(tc.requested, tc.counted); got != tc.want {
			t.Errorf("PromptMismatch(%d, %d) = %v", tc.requested, tc.counted, got)
		}
	}
}
