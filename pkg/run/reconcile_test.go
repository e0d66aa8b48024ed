package run

import (
	"context"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// foreignTraffic sends n requests straight to a target, as another tenant
// of the engine would, when its scenario starts (after the start mark).
type foreignTraffic struct {
	t        *testing.T
	scenario string
	engine   string
	n        int
}

func (f *foreignTraffic) ScenarioStarted(t engine.Target, s workload.Scenario) {
	if s.Name != f.scenario || t.Name != f.engine {
		return
	}
	for i := 0; i < f.n; i++ {
		body := `{"model":"` + t.Model + `","messages":[{"role":"user","content":"someone else"}],"max_tokens":3}`
		resp, err := http.Post(strings.TrimSuffix(t.BaseURL, "/")+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			f.t.Errorf("foreign request: %v", err)
			return
		}
		resp.Body.Close()
	}
}

func (f *foreignTraffic) ScenarioFinished(engine.Target, workload.Scenario) {}

// The reconciled server figures are the simulators' own record of each
// request: the server TTFT, prefill and E2E means equal the means of what
// the simulated vLLM timed, TGI's estimated TTFT (validation + queue +
// prefill) equals its requests' arrival-to-first-token, the interpolated
// median sits in the bucket that holds the true one, the client never saw
// a token before the server made it, and the counts agree — until
// another tenant's requests land in a window, which is then flagged.
// Rebuilt from the journals alone, the folder says the same.
func TestReconciledServerTimesAreTheSimulatorsOwn(t *testing.T) {
	var mu sync.Mutex
	served := map[engine.EngineType][]sim.Served{}
	s := sim.New(sim.Options{Seed: 5, TimeScale: 0.3, Served: func(sv sim.Served) {
		mu.Lock()
		served[sv.Engine] = append(served[sv.Engine], sv)
		mu.Unlock()
	}})
	t.Cleanup(func() { s.Close() })
	var targets []engine.Target
	for _, typ := range []engine.EngineType{engine.EngineVLLM, engine.EngineTGI} {
		url, err := s.Start(context.Background(), typ, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, engine.Target{Name: string(typ), Type: typ, API: engine.APIChat, BaseURL: url, Access: "simulator"})
	}
	cfg := baseConfig(t, targets)
	cfg.ScrapeInterval = 40 * time.Millisecond
	cfg.Scenarios = []workload.Scenario{
		{Name: "load", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 3, Requests: 24, MaxTokens: 6},
		{Name: "shared", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 2, Requests: 6, MaxTokens: 4},
	}
	const foreign = 5
	cfg.Observer = &foreignTraffic{t: t, scenario: "shared", engine: "vllm", n: foreign}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()

	mu.Lock()
	defer mu.Unlock()
	// The first scenario's requests are the first 24 each engine served.
	truth := func(typ engine.EngineType) []sim.Served {
		all := served[typ]
		if len(all) < 24 {
			t.Fatalf("%s served %d requests", typ, len(all))
		}
		return all[:24]
	}
	mean := func(ss []sim.Served, f func(sim.Served) time.Duration) float64 {
		sum := 0.0
		for _, s := range ss {
			sum += float64(f(s)) / 1e6
		}
		return sum / float64(len(ss))
	}
	ttft := func(s sim.Served) time.Duration { return s.First.Sub(s.Arrived) }
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*max(1, math.Abs(want)) {
			t.Errorf("%s: reconciled %.9f ms, the simulator's record %.9f ms", what, got, want)
		}
	}
	check := func(sum []reconcile.Window, from string) {
		win := map[string]reconcile.Window{}
		for _, w := range sum {
			win[w.Engine+"/"+w.Scenario] = w
		}
		v, ok := win["vllm/load"]
		if !ok || v.Unavailable != "" || v.ServerRequests == nil {
			t.Fatalf("%s: vllm/load window %+v", from, v)
		}
		if v.ClientRequests != 24 || *v.ServerRequests != 24 || v.CountMismatch {
			t.Errorf("%s: vllm/load counts client %d server %v mismatch %v", from, v.ClientRequests, *v.ServerRequests, v.CountMismatch)
		}
		vt := truth(engine.EngineVLLM)
		p, _ := v.Phase(reconcile.PhaseTTFT)
		near(from+" vllm TTFT mean", p.Server.MeanMS, mean(vt, ttft))
		if p.Residual == nil || p.Residual.MeanMS < 0 {
			t.Errorf("%s: vllm TTFT residual %+v: the client saw a token before the server made it", from, p.Residual)
		}
		// The interpolated median lies in the bucket of the true one.
		ds := make([]float64, len(vt))
		for i, s := range vt {
			ds[i] = ttft(s).Seconds()
		}
		sort.Float64s(ds)
		trueP50 := (ds[11] + ds[12]) / 2
		bounds := []float64{0, 0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5}
		for i := 1; i < len(bounds); i++ {
			if ds[11] > bounds[i-1] && ds[12] <= bounds[i] && (p.Server.P50MS < bounds[i-1]*1000 || p.Server.P50MS > bounds[i]*1000) {
				t.Errorf("%s: vllm TTFT p50 %.3f ms outside the bucket (%g, %g] s of the true %.6f s", from, p.Server.P50MS, bounds[i-1], bounds[i], trueP50)
			}
		}
		pf, _ := v.Phase(reconcile.PhasePrefill)
		near(from+" vllm prefill mean", pf.Server.MeanMS, mean(vt, func(s sim.Served) time.Duration { return s.First.Sub(s.Admitted) }))
		e2e, _ := v.Phase(reconcile.PhaseE2E)
		near(from+" vllm E2E mean", e2e.Server.MeanMS, mean(vt, func(s sim.Served) time.Duration { return s.Last.Sub(s.Arrived) }))
		if v.Breakdown == nil || len(v.Breakdown.Parts) < 3 {
			t.Errorf("%s: vllm breakdown %+v", from, v.Breakdown)
		}

		g, ok := win["tgi/load"]
		if !ok || g.Dialect != "tgi" || g.ClientRequests != 24 || g.ServerRequests == nil || *g.ServerRequests != 24 {
			t.Fatalf("%s: tgi/load window %+v", from, g)
		}
		gp, _ := g.Phase(reconcile.PhaseTTFT)
		if gp.Server.Estimated == "" || gp.Server.Interpolated {
			t.Errorf("%s: TGI's TTFT is not marked as estimated: %+v", from, gp.Server)
		}
		near(from+" tgi TTFT mean", gp.Server.MeanMS, mean(truth(engine.EngineTGI), ttft))

		sh := win["vllm/shared"]
		if !sh.CountMismatch || sh.ServerRequests == nil || int(*sh.ServerRequests) != sh.ClientRequests+foreign {
			t.Errorf("%s: the foreign requests went unnoticed: client %d, server %v, mismatch %v", from, sh.ClientRequests, sh.ServerRequests, sh.CountMismatch)
		}
		if ts := win["tgi/shared"]; ts.CountMismatch {
			t.Errorf("%s: tgi/shared flagged without foreign traffic: %+v", from, ts.Notes)
		}
	}
	check(res.Summary.EngineMetrics, "in memory")
	found := false
	for _, f := range res.Summary.Findings {
		found = found || (f.Kind == "server_request_count" && f.Engine == "vllm" && f.Scenario == "shared")
	}
	if !found {
		t.Errorf("no finding names the foreign traffic: %+v", res.Summary.Findings)
	}
	loaded, err := export.LoadRun(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	check(loaded.Summary.EngineMetrics, "from the journals")

	// The report sets them side by side and says where the TTFT went.
	if err := export.WriteMarkdown(res.Dir, loaded); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(res.Dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**The engines' own metrics.**", "| vllm | load | 24 / 24 |", "| vllm | shared | 6 / 11 ⚠ |", "**tgi** during load, mean TTFT", "(charts/engine_queue_over_time.png)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}
