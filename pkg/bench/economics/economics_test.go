package economics

import (
	"math"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

func TestCostAtMeasuredThroughput(t *testing.T) {
	// $2.50 an hour for 2 GPUs is $5/3600 a second. At 2 req/s a thousand
	// requests take 500 s: $0.694; at 100 tokens/s a million tokens take
	// 10,000 s: $13.89.
	c := CostAt("vllm", "load", Price{GPUHourUSD: 2.5, GPUs: 2}, false, 2, 100)
	if c.PerThousandRequestsUSD == nil || math.Abs(*c.PerThousandRequestsUSD-5.0/3600*500) > 1e-9 {
		t.Errorf("per 1,000 requests: %v", c.PerThousandRequestsUSD)
	}
	if c.PerMillionTokensUSD == nil || math.Abs(*c.PerMillionTokensUSD-5.0/3600*10000) > 1e-9 {
		t.Errorf("per 1M tokens: %v", c.PerMillionTokensUSD)
	}
	if c := CostAt("tgi", "load", DefaultPrice, true, 0, 0); c.PerThousandRequestsUSD != nil || c.PerMillionTokensUSD != nil {
		t.Error("nothing measured, yet a cost")
	}
}

func TestEconomicsLookup(t *testing.T) {
	e := Economics{"vllm": {GPUHourUSD: 4}, "ollama": {GPUHourUSD: 1, GPUs: 2}, "default": {GPUHourUSD: 3, GPUs: 1}}
	if p, assumed := e.For("vllm-a100", engine.EngineVLLM); assumed || p.GPUHourUSD != 4 || p.GPUs != 1 {
		t.Errorf("by type: %+v %v", p, assumed)
	}
	if p, _ := e.For("ollama", engine.EngineOllama); p.GPUs != 2 {
		t.Errorf("by name: %+v", p)
	}
	if p, assumed := e.For("tgi", engine.EngineTGI); assumed || p.GPUHourUSD != 3 {
		t.Errorf("default entry: %+v %v", p, assumed)
	}
	if p, assumed := (Economics{}).For("tgi", engine.EngineTGI); !assumed || p != DefaultPrice {
		t.Errorf("nothing configured: %+v %v", p, assumed)
	}
	if err := (Economics{"tgi": {GPUHourUSD: -1}}).Validate(); err == nil || !strings.Contains(err.Error(), "economics.tgi") {
		t.Errorf("negative price: %v", err)
	}
}

func TestHumanImpact(t *testing.T) {
	h := HumanImpact{InteractionsPerDay: 60, HourlyCostUSD: 30, People: 10}
	got := h.Of([]Wait{{Engine: "vllm", FirstWordMS: 100, AnswerMS: 2000}, {Engine: "ollama", FirstWordMS: 400, AnswerMS: 5000}})
	// 60 answers of 5 s are 5 minutes a day; 3 s more than vLLM each is 3
	// minutes a day per person, 30 for ten people: half an hour a day at
	// $30 an hour over the default 230 days is $3,450.
	o := got[1]
	if math.Abs(o.MinutesPerDay-5) > 1e-9 || math.Abs(o.ExtraMinutesPerDay-30) > 1e-9 || math.Abs(o.ExtraCostPerYearUSD-3450) > 1e-6 {
		t.Errorf("ollama: %+v", o)
	}
	if got[0].ExtraMinutesPerDay != 0 || got[0].ExtraCostPerYearUSD != 0 {
		t.Errorf("the fastest owes nothing: %+v", got[0])
	}
	if err := (HumanImpact{WorkingDaysPerYear: 400}).Validate(); err == nil {
		t.Error("400 working days accepted")
	}
}
