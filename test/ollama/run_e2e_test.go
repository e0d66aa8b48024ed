//go:build e2e && unix

package ollama_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

const (
	fixedTokens   = 64
	stopMaxTokens = 512
	loadRequests  = 8
)

// loadShape is one way of loading a server: the sequential TTFT suite, or a
// closed loop of 4 users.
type loadShape struct {
	name             string
	args             func(maxTokens int) []string
	warmup, measured int
}

var shapes = []loadShape{
	{"sequential", func(n int) []string {
		return []string{"--suite", "ttft", "--max-tokens", strconv.Itoa(n)}
	}, 1, ttftRuns},
	{"concurrent", func(n int) []string {
		return []string{"--suite", "load", "--concurrency", "4", "--requests", strconv.Itoa(loadRequests), "--max-tokens", strconv.Itoa(n)}
	}, 0, loadRequests},
}

// onBoth starts the real Ollama and the simulator with OLLAMA_NUM_PARALLEL
// 1 and then 4, and runs check for each endpoint on both.
func onBoth(t *testing.T, check func(t *testing.T, real, sim *backend, ep endpoint)) {
	for _, parallel := range []int{1, 4} {
		t.Run(fmt.Sprintf("parallel%d", parallel), func(t *testing.T) {
			real, sim := startBackend(t, "real", parallel), startBackend(t, "sim", parallel)
			for _, ep := range endpoints {
				t.Run(ep.name, func(t *testing.T) { check(t, real, sim, ep) })
			}
		})
	}
}

// checkPhases checks that every request was recorded, warm-up included.
func checkPhases(t *testing.T, recs []record, s loadShape) {
	t.Helper()
	n := map[string]int{}
	for _, r := range recs {
		n[r.Phase]++
	}
	if len(recs) != s.warmup+s.measured || n["warmup"] != s.warmup || n["measure"] != s.measured {
		t.Errorf("journal has %d lines (%v), want %d warm-up + %d measured", len(recs), n, s.warmup, s.measured)
	}
}

// samePrompts checks that both servers counted the same prompt tokens for
// the same request: the binary sends both the same sequence of prompts.
func samePrompts(t *testing.T, real, sim []record) {
	t.Helper()
	key := func(r record) string { return fmt.Sprintf("%s/%s#%d", r.Scenario, r.Phase, r.Sequence) }
	want := map[string]int{}
	for _, r := range real {
		want[key(r)] = r.PromptTokens
	}
	for _, r := range sim {
		if w, ok := want[key(r)]; ok && w != r.PromptTokens {
			t.Errorf("%s: simulator counted %d prompt tokens, real Ollama %d", key(r), r.PromptTokens, w)
		}
	}
}

// TestFixedLength: "tiny" never stops by itself, so every request on every
// endpoint yields exactly the requested tokens, counted by the server.
// Prompts are the binary's default, unique per request.
func TestFixedLength(t *testing.T) {
	onBoth(t, func(t *testing.T, real, sim *backend, ep endpoint) {
		for _, s := range shapes {
			recs := map[string][]record{}
			for _, b := range []*backend{real, sim} {
				t.Run(s.name+"/"+b.name, func(t *testing.T) {
					f := direct(t, b.url, ep.api, "tiny", request(fixedTokens))
					want := facts{status: 200, chunks: fixedTokens, outputTokens: fixedTokens, promptTokens: tinyPromptTokens(ep.api), finish: "length", done: true}
					if f != want {
						t.Errorf("direct request: %+v, want %+v", f, want)
					}
					_, recs[b.name] = runOK(t, b, ep, "tiny", s.args(fixedTokens)...)
					checkPhases(t, recs[b.name], s)
					for _, r := range recs[b.name] {
						// A unique marker may lengthen the user turn;
						// samePrompts compares the counts exactly.
						if !r.OK || r.ErrorClass != "" || r.HTTPStatus != 200 || r.Model != "tiny" || r.API != string(ep.api) ||
							r.Output != fixedTokens || r.Requested != fixedTokens || r.Source != ep.source || r.Chunks != fixedTokens ||
							r.Finish != "length" || r.Mismatch || r.PromptTokens < tinyPromptTokens(ep.api) || r.TTFTMS == nil {
							t.Errorf("record: %+v\nwant ok, %d of %d tokens from %s in %d chunks, finish length, at least %d prompt tokens",
								r, fixedTokens, fixedTokens, ep.source, fixedTokens, tinyPromptTokens(ep.api))
						}
					}
				})
			}
			samePrompts(t, recs["real"], recs["sim"])
		}
	})
}

// TestNaturalStop: "tiny-stop" ends by itself well before the requested
// 512 tokens. The server counts the end-of-sequence token in eval_count
// (and usage) but streams no text for it. With --same-prompts and
// temperature 0 every request is the direct one again, token for token.
func TestNaturalStop(t *testing.T) {
	onBoth(t, func(t *testing.T, real, sim *backend, ep endpoint) {
		for _, s := range shapes {
			recs := map[string][]record{}
			for _, b := range []*backend{real, sim} {
				t.Run(s.name+"/"+b.name, func(t *testing.T) {
					f := direct(t, b.url, ep.api, "tiny-stop", request(stopMaxTokens))
					if f.status != 200 || !f.done || f.finish != "stop" || f.chunks < 1 || f.outputTokens != f.chunks+1 ||
						f.outputTokens >= stopMaxTokens || f.promptTokens != tinyPromptTokens(ep.api) {
						t.Fatalf("direct request: %+v, want a natural stop below %d tokens with eval_count = chunks + 1", f, stopMaxTokens)
					}
					t.Logf("%s stops after %d tokens (eval_count %d)", b.name, f.chunks, f.outputTokens)
					_, recs[b.name] = runOK(t, b, ep, "tiny-stop", append(s.args(stopMaxTokens), "--same-prompts")...)
					checkPhases(t, recs[b.name], s)
					for _, r := range recs[b.name] {
						if !r.OK || r.ErrorClass != "" || r.Model != "tiny-stop" || r.Finish != "stop" ||
							r.Output != f.outputTokens || r.Chunks != f.chunks || r.Source != ep.source ||
							r.Requested != stopMaxTokens || !r.Mismatch || r.PromptTokens != f.promptTokens {
							t.Errorf("record: %+v\nwant ok, finish stop, %d tokens (eval_count) in %d chunks of %d requested, output_mismatch",
								r, f.outputTokens, f.chunks, stopMaxTokens)
						}
					}
				})
			}
			samePrompts(t, recs["real"], recs["sim"])
		}
	})
}

// TestUnknownModel: a model the server does not have fails its target
// before anything is sent, naming the model and the ones served; with no
// other target the run fails.
func TestUnknownModel(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			b := startBackend(t, kind, 1)
			for _, ep := range endpoints {
				t.Run(ep.name, func(t *testing.T) {
					if f := direct(t, b.url, ep.api, "nosuch", request(8)); f.status != 404 {
						t.Errorf("direct request for nosuch: HTTP %d, want 404", f.status)
					}
					out := t.TempDir()
					r := runBinary(t, time.Minute, runArgs(t, b, ep, "nosuch", out, "--suite", "ttft", "--max-tokens", "8")...)
					if r.code != 1 {
						t.Errorf("exit %d, want 1", r.code)
					}
					for _, w := range []string{`"nosuch"`, "tiny:latest", "tiny-stop:latest", "--model ollama=NAME"} {
						if !strings.Contains(r.stderr, w) {
							t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
						}
					}
					dir := runFolder(t, out)
					checkFinished(t, dir, "failed")
					if recs := readJournal(t, dir); len(recs) != 0 {
						t.Errorf("%d requests recorded for a target that was skipped", len(recs))
					}
				})
			}
		})
	}
}

// TestServerKilledMidRun: the server dies (process group SIGKILL, runner
// included) under a closed-loop load. Streams in flight end truncated, the
// rest cannot connect; every request is still journaled as valid JSON, the
// summary is written, and the run itself completes (exit 0: the run was
// not interrupted, the engine failed).
func TestServerKilledMidRun(t *testing.T) {
	const requests = 400
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			b := startBackend(t, kind, 4)
			out := t.TempDir()
			args := runArgs(t, b, endpoints[0], "tiny", out,
				"--suite", "load", "--concurrency", "4", "--requests", strconv.Itoa(requests), "--max-tokens", "256")
			cmd := exec.Command(binary, args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			started := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			exited := false
			t.Cleanup(func() {
				if !exited {
					_ = cmd.Process.Kill()
					<-done
				}
			})

			// Kill once a few answers are in and a second has passed.
			var journal string
			for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("fewer than 2 completed requests within 90 s\n%s", stderr.String())
				}
				if m, _ := filepath.Glob(filepath.Join(out, "test_*", "requests.jsonl")); len(m) == 1 {
					journal = m[0]
					if b, _ := os.ReadFile(journal); strings.Count(string(b), `"ok":true`) >= 2 && time.Since(started) > time.Second {
						break
					}
				}
			}
			killedAt := time.Now()
			b.kill()

			var code int
			select {
			case err := <-done:
				exited = true
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("the binary did not exit within 2 minutes of the kill\n%s", stderr.String())
			}
			t.Logf("%s killed %s after start; binary exited %d", kind, killedAt.Sub(started).Round(time.Millisecond), code)
			if code != 0 {
				t.Errorf("exit %d, want 0 (the run completed; the engine failed)\n%s", code, stderr.String())
			}
			dir := filepath.Dir(journal)
			checkFinished(t, dir, "complete")
			recs := readJournal(t, dir)
			// After 25 connection failures in a row the scenario stops
			// instead of journaling hundreds of instant failures; every
			// request sent until then is recorded.
			var man struct {
				Targets []struct {
					Aborted []string `json:"aborted_scenarios"`
				} `json:"targets"`
			}
			readJSON(t, filepath.Join(dir, "manifest.json"), &man)
			if len(man.Targets) != 1 || len(man.Targets[0].Aborted) != 1 || !strings.Contains(man.Targets[0].Aborted[0], "25 consecutive connection failures") {
				t.Errorf("manifest targets %+v, want the load scenario aborted after 25 connection failures", man.Targets)
			}
			if len(recs) >= requests {
				t.Errorf("journal has %d lines: the scenario should have stopped once the server was gone", len(recs))
			}
			// Loose margins around the kill: the binary's stamps and ours
			// are different readings of the same wall clock.
			killNS, slack := killedAt.UnixNano(), int64(100*time.Millisecond)
			classes, examples := map[string]int{}, map[string]string{}
			for _, r := range recs {
				if r.OK {
					classes["ok"]++
					if r.Output != 256 || r.Finish != "length" {
						t.Errorf("successful record: %+v", r)
					}
					if r.EndUnixNS > killNS+slack {
						t.Errorf("request ended %s after the kill but is ok: %+v", time.Duration(r.EndUnixNS-killNS), r)
					}
					continue
				}
				classes[r.ErrorClass]++
				if !strings.Contains(examples[r.ErrorClass], r.Error) {
					examples[r.ErrorClass] += r.Error + "; "
				}
				switch {
				case r.ErrorClass != engine.ErrConnect && r.ErrorClass != engine.ErrTruncated:
					t.Errorf("failure classified %q, want connect or truncated: %+v", r.ErrorClass, r)
				case r.EndUnixNS < killNS-slack:
					t.Errorf("request failed before the kill: %+v", r)
				case r.StartUnixNS > killNS+slack && r.ErrorClass != engine.ErrConnect:
					t.Errorf("request sent after the kill is %q, want connect: %+v", r.ErrorClass, r)
				case r.Error == "":
					t.Errorf("failure without a message: %+v", r)
				}
			}
			t.Logf("%s: %v; errors such as %q", kind, classes, examples)
			// In flight at the kill: up to 4 streams cut mid-answer and up
			// to 4 requests taken but not yet answered, both truncated.
			if classes["ok"] < 2 || classes[engine.ErrConnect] < 25 || classes[engine.ErrConnect] > 25+4 || classes[engine.ErrTruncated] > 8 {
				t.Errorf("classes %v: want ≥ 2 ok before the kill, 25 to 29 connect failures after it, at most 8 truncated", classes)
			}
		})
	}
}
