package workload

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Weights say how much each component counts in the overall ranking.
type Weights struct {
	TTFT        float64 `json:"ttft"`
	TPOT        float64 `json:"tpot"`
	Throughput  float64 `json:"throughput"`
	ErrorRate   float64 `json:"error_rate"`
	Consistency float64 `json:"consistency"`
}

// DefaultWeights put the first token, what a chat user waits for, first.
var DefaultWeights = Weights{TTFT: 0.30, TPOT: 0.25, Throughput: 0.20, ErrorRate: 0.15, Consistency: 0.10}

// ParseWeights reads "ttft=0.4,tpot=0.2,throughput=0.2,error_rate=0.1,consistency=0.1";
// components left out weigh nothing.
func ParseWeights(spec, where string) (Weights, error) {
	var w Weights
	fields := map[string]*float64{"ttft": &w.TTFT, "tpot": &w.TPOT, "throughput": &w.Throughput, "error_rate": &w.ErrorRate, "consistency": &w.Consistency}
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		p, known := fields[strings.ToLower(k)]
		if !ok || !known {
			return w, fmt.Errorf("%s: %q: write NAME=WEIGHT with NAME one of ttft, tpot, throughput, error_rate, consistency", where, part)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) {
			return w, fmt.Errorf("%s: %q: a weight is a number ≥ 0", where, part)
		}
		*p = f
	}
	if w.Total() == 0 {
		return w, fmt.Errorf("%s: every weight is 0; give at least one a positive weight", where)
	}
	return w, nil
}

func (w Weights) Total() float64 { return w.TTFT + w.TPOT + w.Throughput + w.ErrorRate + w.Consistency }
