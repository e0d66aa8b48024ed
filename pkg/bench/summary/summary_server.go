package summary

import (
	"fmt"
	"sort"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
)

// ColdStarts summarises requests whose server reported a model load.
type ColdStarts struct {
	Count  int         `json:"count"`
	LoadMS stats.Stats `json:"server_load_ms"`
	TTFTMS stats.Stats `json:"ttft_ms"`
}

type coldSamples struct{ load, ttft stats.Sample }

func (c *coldSamples) add(r *engine.Record) {
	if r.ServerLoadMS != nil {
		c.load.Add(*r.ServerLoadMS)
	}
	if r.TTFTMS != nil {
		c.ttft.Add(*r.TTFTMS)
	}
}

// Reconciliation sets the client's view beside the server's. The TTFT
// residual (client TTFT − server load − server prompt evaluation) is what
// the network, HTTP, the client and waiting inside the server add.
type Reconciliation struct {
	Requests               int         `json:"requests"`
	ClientTTFTMS           stats.Stats `json:"client_ttft_ms"`
	ServerTTFTMS           stats.Stats `json:"server_ttft_ms"`
	TTFTResidualMS         stats.Stats `json:"ttft_residual_ms"`
	ServerWaitMS           stats.Stats `json:"server_wait_ms"`
	ClientDecodeTokensPerS stats.Stats `json:"client_decode_tokens_per_s"`
	ServerDecodeTokensPerS stats.Stats `json:"server_decode_tokens_per_s"`
	// DecodeRateRatio is the client's median decode rate over the
	// server's: below 1, tokens reached the client slower than they were
	// generated.
	DecodeRateRatio float64 `json:"decode_rate_ratio"`
}

func finishServerViews(g *Group, cold *coldSamples) {
	if n := cold.ttft.Len(); n > 0 || cold.load.Len() > 0 {
		g.ColdStart = &ColdStarts{Count: max(n, cold.load.Len()), LoadMS: cold.load.Stats(), TTFTMS: cold.ttft.Stats()}
	}
	m := g.Metrics
	st, ok := m[metric.ServerTTFT]
	if !ok || st.Count == 0 {
		return
	}
	rc := &Reconciliation{Requests: st.Count, ClientTTFTMS: m[metric.TTFT], ServerTTFTMS: st,
		TTFTResidualMS: m[metric.TTFTResidual], ServerWaitMS: m[metric.ServerWait],
		ClientDecodeTokensPerS: m[metric.ClientDecodeTPS], ServerDecodeTokensPerS: m[metric.ServerDecodeTPS]}
	if s := rc.ServerDecodeTokensPerS.P50; s > 0 {
		rc.DecodeRateRatio = rc.ClientDecodeTokensPerS.P50 / s
	}
	g.Reconciliation = rc
}

// Finding is an observation a reader should not have to derive.
type Finding struct {
	Engine   string `json:"engine"`
	Scenario string `json:"scenario,omitempty"`
	Kind     string `json:"kind"` // server_queueing | cold_start
	Message  string `json:"message"`
}

// meanInFlight is the average number of this group's requests in flight,
// Σ e2e / window: the concurrency the engine actually saw.
func meanInFlight(g Group) float64 {
	e2e := g.Metrics[metric.E2E]
	if g.WindowS <= 0 || e2e.Count == 0 {
		return 0
	}
	return e2e.Mean * float64(e2e.Count) / 1000 / g.WindowS
}

// Queueing thresholds: TTFB must at least double and grow by 20 ms while
// prompt evaluation grows by less than half.
const (
	queueTTFBFactor   = 2.0
	queueTTFBMinMS    = 20.0
	queuePromptFactor = 1.5
)

func Findings(groups []Group) []Finding {
	var out []Finding
	byEngine := map[string][]Group{}
	var engines []string
	for _, g := range groups {
		if _, ok := byEngine[g.Engine]; !ok {
			engines = append(engines, g.Engine)
		}
		byEngine[g.Engine] = append(byEngine[g.Engine], g)
		if g.ColdStart != nil {
			out = append(out, Finding{Engine: g.Engine, Scenario: g.Scenario, Kind: "cold_start",
				Message: fmt.Sprintf("%s loaded its model during %s: %d request(s) paid a cold start (load %.0f ms, TTFT %.0f ms); they are excluded from the latency statistics",
					g.Engine, g.Scenario, g.ColdStart.Count, g.ColdStart.LoadMS.Max, g.ColdStart.TTFTMS.Max)})
		}
	}
	for _, e := range engines {
		gs := byEngine[e]
		// The baseline is the scenario where the engine saw the least
		// concurrency and reported prompt evaluation.
		var usable []Group
		for _, g := range gs {
			if g.Metrics[metric.ServerPrompt].Count > 0 && g.Metrics[metric.TTFB].Count > 0 && meanInFlight(g) > 0 {
				usable = append(usable, g)
			}
		}
		if len(usable) < 2 {
			continue
		}
		sort.SliceStable(usable, func(i, j int) bool { return meanInFlight(usable[i]) < meanInFlight(usable[j]) })
		base := usable[0]
		bTTFB, bPrompt := base.Metrics[metric.TTFB].P50, base.Metrics[metric.ServerPrompt].P50
		for _, g := range usable[1:] {
			ttfb, prompt := g.Metrics[metric.TTFB].P50, g.Metrics[metric.ServerPrompt].P50
			if ttfb < queueTTFBFactor*bTTFB || ttfb-bTTFB < queueTTFBMinMS || prompt > queuePromptFactor*bPrompt+0.5 {
				continue
			}
			msg := fmt.Sprintf("requests queued on the %s server in %s: TTFB p50 grew from %.1f ms (%s, %.1f in flight) to %.1f ms (%.1f in flight) while prompt evaluation stayed at %.1f ms (was %.1f ms)",
				e, g.Scenario, bTTFB, base.Scenario, meanInFlight(base), ttfb, meanInFlight(g), prompt, bPrompt)
			if w := g.Metrics[metric.ServerWait]; w.Count > 0 {
				msg += fmt.Sprintf("; the server's own wait p50 was %.1f ms", w.P50)
			}
			if g.EngineType == engine.EngineOllama {
				msg += "; the server ran fewer requests at once than were sent (check OLLAMA_NUM_PARALLEL)"
			}
			out = append(out, Finding{Engine: e, Scenario: g.Scenario, Kind: "server_queueing", Message: msg})
		}
	}
	return out
}
