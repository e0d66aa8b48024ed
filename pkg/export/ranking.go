package export

import (
	"fmt"
	"io"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
)

// rankingRows are the overall ranking with every component, so that the
// verdict can be audited: "value (score)" per component.
func rankingRows(s verdict.Summary, esc func(string) string) ([]string, [][]string) {
	if len(s.Ranking) == 0 {
		return nil, nil
	}
	header := []string{"Rank", "Engine", "Score", "SLO"}
	for _, c := range s.Ranking[0].Components {
		header = append(header, fmt.Sprintf("%s (w %.2f)", c.Name, c.Weight))
	}
	var rows [][]string
	for _, st := range s.Ranking {
		slo := "–"
		if st.SLOMet != nil {
			slo = map[bool]string{true: "met", false: "missed"}[*st.SLOMet]
		}
		row := []string{fmt.Sprint(st.Rank), esc(st.Engine), fmt.Sprintf("%.3f", st.Score), slo}
		if st.Unranked != "" {
			row[2] = "– (" + st.Unranked + ")"
		}
		for i := range header[4:] {
			cell := "–"
			if i < len(st.Components) {
				c := st.Components[i]
				sep := " "
				if c.Unit == "%" || c.Unit == "×" {
					sep = ""
				}
				cell = fmt.Sprintf("%.1f%s%s (%.2f)", c.Value, sep, c.Unit, c.Score)
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	return header, rows
}

func writeRanking(w io.Writer, s verdict.Summary) error {
	header, rows := rankingRows(s, oneLine)
	if header == nil {
		return nil
	}
	fmt.Fprintln(w, "\nOverall ranking (each component relative to the best engine, 1 = best; engines that missed an SLO rank last)")
	return RenderRows(w, header, rows)
}

// rankingView is the reports' ranking grid.
func rankingView(s verdict.Summary) gridView {
	header, rows := rankingRows(s, mdEscape)
	return gridView{Header: header, Rows: rows}
}
