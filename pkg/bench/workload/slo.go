package workload

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
)

// SLO is a set of service-level objectives: latency targets at
// percentiles and an error budget. A request meets the SLO when it
// succeeded and each of its own latencies is within its target's limit;
// an engine meets it when each target's percentile (failures counting as
// infinitely slow) is within the limit and its error rate within budget.
type SLO struct {
	Targets []SLOTarget `json:"targets,omitempty"`
	// MaxErrorRate is a fraction (0.01 = 1%); nil = no error budget.
	MaxErrorRate *float64 `json:"max_error_rate,omitempty"`
}

// SLOTarget is "metric at percentile ≤ max".
type SLOTarget struct {
	Metric     string  `json:"metric"` // ttft_ms, tpot_ms, itl_ms, e2e_ms
	Percentile float64 `json:"percentile"`
	MaxMS      float64 `json:"max_ms"`
}

func (t SLOTarget) String() string {
	return fmt.Sprintf("%s p%g ≤ %s", strings.TrimSuffix(t.Metric, "_ms"), t.Percentile, fmtMS(t.MaxMS))
}

func (s SLO) String() string {
	var parts []string
	for _, t := range s.Targets {
		parts = append(parts, t.String())
	}
	if s.MaxErrorRate != nil {
		parts = append(parts, fmt.Sprintf("errors ≤ %g%%", *s.MaxErrorRate*100))
	}
	return strings.Join(parts, ", ")
}

func fmtMS(ms float64) string {
	if ms >= 1000 && math.Mod(ms, 1000) == 0 {
		return fmt.Sprintf("%gs", ms/1000)
	}
	return fmt.Sprintf("%g ms", ms)
}

var sloMetrics = map[string]string{"ttft": metric.TTFT, "tpot": metric.TPOT, "itl": metric.ITL, "e2e": metric.E2E}

// ParseSLO reads "ttft_p95=500ms,tpot_p95=50ms,e2e_p99=5s,error_rate=1%".
// A bare number is milliseconds; the error rate takes "1%" or "0.01".
// where names the flag or field for error messages.
func ParseSLO(spec, where string) (*SLO, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	s := &SLO{}
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		key, val, ok := strings.Cut(part, "=")
		if !ok || val == "" {
			return nil, fmt.Errorf("%s: %q: write METRIC_pNN=LIMIT (e.g. ttft_p95=500ms) or error_rate=1%%", where, part)
		}
		key = strings.ToLower(strings.TrimSpace(key))
		if seen[key] {
			return nil, fmt.Errorf("%s: %q is given twice", where, key)
		}
		seen[key] = true
		if key == "error_rate" || key == "errors" {
			r, err := parseRate(val)
			if err != nil {
				return nil, fmt.Errorf("%s: error_rate=%s: %w", where, val, err)
			}
			s.MaxErrorRate = &r
			continue
		}
		name, pct, ok := strings.Cut(key, "_p")
		metric, known := sloMetrics[strings.TrimSuffix(name, "_ms")]
		if !ok || !known {
			return nil, fmt.Errorf("%s: %q: the metric must be one of ttft, tpot, itl, e2e with a percentile, e.g. ttft_p95", where, key)
		}
		p, err := strconv.ParseFloat(pct, 64)
		if err != nil || p <= 0 || p >= 100 {
			return nil, fmt.Errorf("%s: %q: the percentile must be a number between 0 and 100, e.g. p95 or p99.9", where, key)
		}
		ms, err := parseMS(val)
		if err != nil || ms <= 0 {
			return nil, fmt.Errorf("%s: %s=%s: give a positive duration such as 500ms or 2s (a bare number is milliseconds)", where, key, val)
		}
		s.Targets = append(s.Targets, SLOTarget{Metric: metric, Percentile: p, MaxMS: ms})
	}
	return s, nil
}

func parseMS(v string) (float64, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	return float64(d) / float64(time.Millisecond), nil
}

func parseRate(v string) (float64, error) {
	pct := strings.HasSuffix(v, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("give a share such as 1%% or 0.01")
	}
	if pct {
		f /= 100
	}
	if f < 0 || f > 1 {
		return 0, fmt.Errorf("must be between 0%% and 100%%")
	}
	return f, nil
}

// RequestValue is a request's own value of an SLO metric: TTFT, TPOT and
// E2E as measured; for ITL, the percentile of its own gaps.
func RequestValue(r *engine.Record, t SLOTarget) (float64, bool) {
	var v *float64
	switch t.Metric {
	case metric.TTFT:
		v = r.TTFTMS
	case metric.TPOT:
		v = r.TPOTMS
	case metric.E2E:
		v = r.E2EMS
	case metric.ITL:
		if len(r.ITLMS) == 0 {
			return 0, false
		}
		gaps := append([]float64(nil), r.ITLMS...)
		sort.Float64s(gaps)
		return stats.Percentile(gaps, t.Percentile), true
	}
	if v == nil {
		return 0, false
	}
	return *v, true
}

// Met reports whether one request met every latency target. A failed
// request never does; a metric the request has no value for (TPOT of a
// one-token answer) does not count against it.
func (s SLO) Met(r *engine.Record) bool {
	if !r.OK {
		return false
	}
	for _, t := range s.Targets {
		if v, ok := RequestValue(r, t); ok && v > t.MaxMS {
			return false
		}
	}
	return true
}
