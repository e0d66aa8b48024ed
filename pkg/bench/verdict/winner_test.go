package verdict

import (
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
)

func TestWinnerIsTheRankingsFirstElseTheMostWins(t *testing.T) {
	groups := []summary.Group{{Engine: "a"}, {Engine: "b"}, {Engine: "c"}}
	fastest := []Fastest{
		{Engine: "b", Evidence: EvidenceSignificant},
		{Engine: "c", Evidence: EvidenceTie}, // a tie is no win
		{Engine: "c", Evidence: EvidenceTie},
		{Engine: "a", Evidence: EvidenceUntested},
	}
	cases := []struct {
		name string
		s    Summary
		want string
	}{
		{"two ranked: the ranking decides", Summary{Groups: groups, Fastest: fastest, Ranking: []Standing{{Engine: "c"}, {Engine: "b"}}}, "c"},
		{"one ranked: the wins decide, the earlier group on a tie", Summary{Groups: groups, Fastest: fastest, Ranking: []Standing{{Engine: "c"}, {Engine: "b", Unranked: "no successful request"}}}, "a"},
		{"only ties: nobody", Summary{Groups: groups, Fastest: fastest[1:3]}, ""},
		{"nothing compared", Summary{Groups: groups}, ""},
	}
	for _, c := range cases {
		if got := c.s.Winner(); got != c.want {
			t.Errorf("%s: winner %q, want %q", c.name, got, c.want)
		}
	}
	if w := (Summary{Fastest: fastest}).Wins(); w["a"] != 1 || w["b"] != 1 || w["c"] != 0 {
		t.Errorf("wins %v", w)
	}
}

func TestRankableFailsAboveTheErrorRateBound(t *testing.T) {
	for _, c := range []struct {
		g    summary.Group
		want bool
	}{
		{summary.Group{Succeeded: 95, ErrorRate: MaxErrorRateToRank}, true},
		{summary.Group{Succeeded: 94, ErrorRate: MaxErrorRateToRank + 0.01}, false},
		{summary.Group{Succeeded: 0}, false},
	} {
		if got := Rankable(c.g); got != c.want {
			t.Errorf("%+v: rankable %v, want %v", c.g, got, c.want)
		}
	}
}
