package verdict

import "github.com/llmbench/kubectl-llmbench/pkg/bench/summary"

// Rankable says whether a group may be called best at anything: it
// answered, and failed at most MaxErrorRateToRank of its requests.
func Rankable(g summary.Group) bool {
	return g.Succeeded > 0 && g.ErrorRate <= MaxErrorRateToRank
}

// Won says whether f is a win: a lead that is not a statistical tie.
func (f Fastest) Won() bool { return f.Evidence != EvidenceTie }

// Wins counts each engine's wins among s.Fastest.
func (s Summary) Wins() map[string]int {
	wins := map[string]int{}
	for _, f := range s.Fastest {
		if f.Won() {
			wins[f.Engine]++
		}
	}
	return wins
}

// Winner is the engine the run recommends, the one every report names:
// the first of the overall ranking when two or more engines were ranked;
// otherwise the engine with the most wins (the earlier group on a tie).
// Empty when nothing was won.
func (s Summary) Winner() string {
	ranked := 0
	for _, st := range s.Ranking {
		if st.Unranked == "" {
			ranked++
		}
	}
	if ranked > 1 {
		return s.Ranking[0].Engine
	}
	wins := s.Wins()
	best, bestN := "", 0
	for _, g := range s.Groups {
		if n := wins[g.Engine]; n > bestN {
			best, bestN = g.Engine, n
		}
	}
	return best
}
