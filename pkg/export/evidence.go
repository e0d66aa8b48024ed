package export

import (
	"fmt"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
)

// evidenceText says in a few words whether a win is more than noise.
func evidenceText(f verdict.Fastest) string {
	switch f.Evidence {
	case verdict.EvidenceSignificant:
		if f.PValue != nil {
			return fmt.Sprintf("significant (p=%s)", pText(*f.PValue))
		}
		return "significant (95% CIs apart)"
	case verdict.EvidenceTie:
		if f.PValue != nil {
			return fmt.Sprintf("tie: no significant difference (p=%s)", pText(*f.PValue))
		}
		return "tie: 95% CIs overlap"
	case verdict.EvidenceUntested:
		if f.RunnerUp == "" || f.HigherIsBetter {
			return "–"
		}
		return "too few samples to test"
	}
	return "–"
}

func pText(p float64) string {
	if p < 0.001 {
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", p)
}
