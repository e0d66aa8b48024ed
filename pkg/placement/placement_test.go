package placement

import (
	"strings"
	"testing"
)

func TestParseMethod(t *testing.T) {
	for _, s := range []string{"auto", "route", "ingress", "nodeport", "port-forward", "proxy", "Port-Forward"} {
		if _, err := ParseMethod(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParseMethod("loadbalancer"); err == nil || !strings.Contains(err.Error(), "port-forward") {
		t.Errorf("unknown method error %v should list the methods", err)
	}
}

func TestEvidenceTrustOrdersLabelsFirstAndUnknownLast(t *testing.T) {
	order := []Evidence{ByLabel, ByChartLabel, ByKServe, ByImage, ByName, Evidence("guess")}
	for i := 1; i < len(order); i++ {
		if order[i-1].Trust() >= order[i].Trust() {
			t.Errorf("%s (trust %d) should rank before %s (trust %d)", order[i-1], order[i-1].Trust(), order[i], order[i].Trust())
		}
	}
}
