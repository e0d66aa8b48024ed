package scrape

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sample is one series' value at one scrape: a counter or gauge, or one
// part of a histogram (name_bucket with le, name_sum, name_count) or of a
// summary (name with quantile, name_sum, name_count), named as the
// exposition names it.
type Sample struct {
	Metric string            `json:"metric"`
	Type   string            `json:"type"` // counter, gauge, histogram, summary, untyped: the family's
	Labels map[string]string `json:"labels,omitempty"`
	Value  float64           `json:"value"`
}

// Parse reads a text exposition. Families come out sorted by name and
// series in the order served, so one body always gives the same samples.
func Parse(r io.Reader) (_ []Sample, err error) {
	// expfmt v0.70 panics on some malformed bodies (a bare "{}" after a
	// HELP line, found by FuzzParse); a server's garbage must cost a
	// scrape, not the run.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("not Prometheus text exposition: the parser failed on it (%v)", p)
		}
	}()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("not Prometheus text exposition: %w", err)
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Sample
	for _, n := range names {
		out = appendFamily(out, fams[n])
	}
	return out, nil
}

// Find returns the first sample of metric whose labels include labels.
func Find(ss []Sample, metric string, labels map[string]string) (Sample, bool) {
	for _, s := range ss {
		if s.Metric != metric {
			continue
		}
		ok := true
		for k, v := range labels {
			ok = ok && s.Labels[k] == v
		}
		if ok {
			return s, true
		}
	}
	return Sample{}, false
}

func appendFamily(out []Sample, f *dto.MetricFamily) []Sample {
	name := f.GetName()
	typ := typeName(f.GetType())
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		with := func(k, v string) map[string]string {
			c := make(map[string]string, len(labels)+1)
			for a, b := range labels {
				c[a] = b
			}
			c[k] = v
			return c
		}
		add := func(metric string, ls map[string]string, v float64) {
			if len(ls) == 0 {
				ls = nil
			}
			out = append(out, Sample{Metric: metric, Type: typ, Labels: ls, Value: v})
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			add(name, labels, m.GetCounter().GetValue())
		case dto.MetricType_GAUGE:
			add(name, labels, m.GetGauge().GetValue())
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			h := m.GetHistogram()
			for _, b := range h.GetBucket() {
				add(name+"_bucket", with("le", formatLE(b.GetUpperBound())), float64(b.GetCumulativeCount()))
			}
			if len(h.GetBucket()) == 0 || !math.IsInf(h.GetBucket()[len(h.GetBucket())-1].GetUpperBound(), 1) {
				// +Inf is implied by _count when a server leaves it out.
				add(name+"_bucket", with("le", "+Inf"), float64(h.GetSampleCount()))
			}
			add(name+"_sum", labels, h.GetSampleSum())
			add(name+"_count", labels, float64(h.GetSampleCount()))
		case dto.MetricType_SUMMARY:
			s := m.GetSummary()
			for _, q := range s.GetQuantile() {
				add(name, with("quantile", strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64)), q.GetValue())
			}
			add(name+"_sum", labels, s.GetSampleSum())
			add(name+"_count", labels, float64(s.GetSampleCount()))
		default:
			add(name, labels, m.GetUntyped().GetValue())
		}
	}
	return out
}

func typeName(t dto.MetricType) string {
	switch t {
	case dto.MetricType_COUNTER:
		return "counter"
	case dto.MetricType_GAUGE:
		return "gauge"
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return "histogram"
	case dto.MetricType_SUMMARY:
		return "summary"
	}
	return "untyped"
}

// formatLE writes a bucket bound as Prometheus does: +Inf, or the
// shortest float.
func formatLE(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
