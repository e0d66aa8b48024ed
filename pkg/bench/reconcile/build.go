package reconcile

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
)

type sampleSet = []scrape.Sample

// client is what reconciling needs of one successful record.
type client struct {
	endNS         int64
	warmup        bool
	ttft, e2e     float64 // ms; NaN when absent
	tpot          float64
	itl           []float64
	prompt, otoks int
}

type key struct{ engine, scenario string }

// Builder collects the records a reconciliation reads, as a sink beside
// the summarizer (or while a journal is read back): a few numbers per
// successful request, not the record.
type Builder struct {
	recs map[key][]client
	// The first itlHead measured records of each engine × scenario keep
	// their inter-token gaps one by one: only they can fall before the
	// window's start (the first scrape after the warm-up). Later ones
	// end inside the window, so their gaps fold into itlTail, whose
	// memory is bounded however long the run; tailFrom is the earliest
	// end among them.
	itlTail  map[key]*stats.Sample
	tailFrom map[key]int64
	measured map[key]int
	// warmEnd is the last warm-up answer per engine × scenario, failures
	// included: the window starts after it.
	warmEnd map[key]int64
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{recs: map[key][]client{}, warmEnd: map[key]int64{},
		itlTail: map[key]*stats.Sample{}, tailFrom: map[key]int64{}, measured: map[key]int{}}
}

// Write adds one record; it is a load.Sink.
func (b *Builder) Write(r *engine.Record) error {
	k := key{r.Engine, r.Scenario}
	warm := r.Phase == engine.PhaseWarmup
	if warm && r.EndUnixNS > b.warmEnd[k] {
		b.warmEnd[k] = r.EndUnixNS
	}
	if r.ErrorClass != "" || r.EndUnixNS == 0 {
		return nil
	}
	val := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	c := client{endNS: r.EndUnixNS, warmup: warm, ttft: val(r.TTFTMS), e2e: val(r.E2EMS),
		tpot: val(r.TPOTMS), prompt: r.PromptTokens, otoks: r.OutputTokens}
	if !warm {
		b.measured[k]++
	}
	if warm || b.measured[k] <= itlHead {
		c.itl = append([]float64(nil), r.ITLMS...)
	} else {
		t := b.itlTail[k]
		if t == nil {
			t = &stats.Sample{}
			b.itlTail[k] = t
		}
		for _, g := range r.ITLMS {
			t.Add(g)
		}
		if f, ok := b.tailFrom[k]; !ok || r.EndUnixNS < f {
			b.tailFrom[k] = r.EndUnixNS
		}
	}
	b.recs[k] = append(b.recs[k], c)
	return nil
}

// itlHead is how many measured records per engine × scenario keep their
// gaps one by one.
const itlHead = 1024

// Windows reconciles every scenario the scrapes bound: per engine, each
// start mark with the next end mark of the same scenario.
func (b *Builder) Windows(scrapes []scrape.Scrape) []Window {
	byEngine := map[string][]scrape.Scrape{}
	gpu := map[string][]scrape.Scrape{}
	var engines []string
	for _, s := range scrapes {
		if s.Kind == scrape.KindGPU {
			gpu[s.Engine] = append(gpu[s.Engine], s)
			continue
		}
		if _, ok := byEngine[s.Engine]; !ok {
			engines = append(engines, s.Engine)
		}
		byEngine[s.Engine] = append(byEngine[s.Engine], s)
	}
	var out []Window
	for _, e := range engines {
		ss := byEngine[e]
		sort.SliceStable(ss, func(i, j int) bool { return ss[i].UnixNS < ss[j].UnixNS })
		for i, s := range ss {
			if s.Edge != scrape.EdgeStart {
				continue
			}
			for j := i + 1; j < len(ss); j++ {
				if ss[j].Edge == scrape.EdgeEnd && ss[j].Scenario == s.Scenario {
					w := b.window(e, s.Scenario, ss[i:j+1])
					w.GPU, w.GPUs = gpuWindow(gpu[e], w.StartUnixNS, w.EndUnixNS)
					out = append(out, w)
					break
				}
			}
		}
	}
	return out
}

// window reconciles one scenario from its scrapes, the first its start
// mark and the last its end mark.
func (b *Builder) window(eng, scenario string, ss []scrape.Scrape) Window {
	k := key{eng, scenario}
	w := Window{Engine: eng, Scenario: scenario}
	last := ss[len(ss)-1]
	// The window starts at the first good scrape after the warm-up's last
	// answer: warm-up requests still running when measurement begins
	// would otherwise be in the server's counts and not the client's.
	start := 0
	if we := b.warmEnd[k]; we > 0 {
		start = -1
		for i := 1; i < len(ss)-1; i++ {
			if ss[i].UnixNS >= we && ss[i].Error == "" {
				start = i
				break
			}
		}
		if start < 0 {
			start, w.WarmupIncluded = 0, true
			w.Notes = append(w.Notes, "no scrape fell between the warm-up's last answer and the scenario's end: the window includes the warm-up on both sides (a shorter --scrape-interval separates them)")
		}
	}
	lo := ss[start]
	w.StartUnixNS, w.EndUnixNS, w.Scrapes = lo.UnixNS, last.UnixNS, len(ss)-start
	var cs []client
	for _, c := range b.recs[k] {
		if c.endNS > lo.UnixNS && c.endNS <= last.UnixNS && (!c.warmup || w.WarmupIncluded) {
			cs = append(cs, c)
		}
	}
	w.ClientRequests = len(cs)
	for _, c := range cs {
		w.Counters.ClientPromptTokens += c.prompt
		w.Counters.ClientOutputTokens += c.otoks
	}
	switch {
	case lo.Error != "":
		w.Unavailable = fmt.Sprintf("the scrape at the window's start failed: %s", lo.Error)
		return w
	case last.Error != "":
		w.Unavailable = fmt.Sprintf("the scrape at the window's end failed: %s", last.Error)
		return w
	}
	d, ok := dialectOf(last.Samples)
	if !ok {
		w.Unavailable = "the engine's metrics are neither vLLM's nor TGI's"
		return w
	}
	w.Dialect = d.name
	tail := b.itlTail[k]
	if tail != nil && (b.tailFrom[k] <= lo.UnixNS || b.tailFrom[k] > last.UnixNS) {
		w.Notes = append(w.Notes, fmt.Sprintf("the client ITL pools the gaps of every measured request after the first %d, some of which ended outside the window", itlHead))
	}
	b.server(&w, d, lo.Samples, last.Samples, cs, tail)
	w.Gauges = gauges(d, ss[start:])
	w.Breakdown = breakdown(w)
	return w
}

// server fills the window's phases and counters from the deltas.
func (b *Builder) server(w *Window, d dialect, before, after sampleSet, cs []client, itlTail *stats.Sample) {
	reset := false
	for _, pd := range d.phases {
		for _, m := range pd.metrics {
			ha, okA := histOf(after, m, pd.match)
			if !okA {
				continue
			}
			hb, okB := histOf(before, m, pd.match)
			if !okB {
				hb = hist{bounds: ha.bounds, cum: make([]float64, len(ha.cum))} // a series appears at first use
			}
			delta, ok := ha.sub(hb)
			if !ok {
				reset = true
				break
			}
			if delta.count > 0 {
				w.Phases = append(w.Phases, phaseOf(pd.phase, m, delta, cs, itlTail))
			}
			break
		}
	}
	if reset {
		w.Notes = append(w.Notes, "a histogram went backwards inside the window (the engine restarted?): its phases are left out")
	}
	if d.name == tgi.name {
		estimateTGITTFT(w, cs)
	}
	counter := func(name string, match map[string]string) *float64 {
		if name == "" {
			return nil
		}
		a, okA := counterOf(after, name, match)
		if !okA {
			return nil
		}
		bv, _ := counterOf(before, name, match)
		if a < bv {
			return nil
		}
		v := a - bv
		return &v
	}
	if n := counter(d.success, nil); n != nil {
		v := *n
		for _, r := range d.failedReasons {
			if f := counter(d.success, map[string]string{d.reasonLabel: r}); f != nil {
				v -= *f
			}
		}
		w.ServerRequests = &v
		diff := math.Abs(v - float64(w.ClientRequests))
		if diff > 1+0.01*float64(w.ClientRequests) {
			w.CountMismatch = true
			w.Notes = append(w.Notes, fmt.Sprintf("the engine finished %.0f requests in this window, the client %d: another tenant on the engine, retries, or answers the client gave up on; server and client figures cover different requests", v, w.ClientRequests))
		}
	}
	w.Counters.PromptTokens = counter(d.promptTokens, nil)
	w.Counters.GenerationTokens = counter(d.generationTokens, nil)
	w.Counters.Preemptions = counter(d.preemptions, nil)
	for i := range d.prefixHits {
		h, q := counter(d.prefixHits[i], nil), counter(d.prefixQueries[i], nil)
		if h != nil && q != nil && *q > 0 {
			r := *h / *q
			w.Counters.PrefixCacheHitRate = &r
			break
		}
	}
}

// phaseOf is one phase's server figures, with the client's beside those
// the client measures too.
func phaseOf(name, metric string, h hist, cs []client, itlTail *stats.Sample) Phase {
	ms := func(v float64) float64 { return finite(v * 1000) }
	p := Phase{Name: name, Metric: metric, Server: ServerStats{Count: h.count, MeanMS: ms(h.mean()), Interpolated: true}}
	for _, q := range []struct {
		name string
		q    float64
		dst  *float64
	}{{"p50", 0.50, &p.Server.P50MS}, {"p90", 0.90, &p.Server.P90MS}, {"p95", 0.95, &p.Server.P95MS}, {"p99", 0.99, &p.Server.P99MS}} {
		*q.dst = ms(h.quantile(q.q))
		if h.inFirstBucket(q.q) {
			*q.dst = ms(h.bounds[0])
			p.Server.AtMost = append(p.Server.AtMost, q.name)
		}
	}
	var pick func(c client) []float64
	var extra *stats.Sample
	switch name {
	case PhaseTTFT:
		pick = func(c client) []float64 { return []float64{c.ttft} }
	case PhaseE2E:
		pick = func(c client) []float64 { return []float64{c.e2e} }
	case PhaseITL:
		pick, extra = func(c client) []float64 { return c.itl }, itlTail
	case PhaseTPOT:
		pick = func(c client) []float64 { return []float64{c.tpot} }
	}
	if pick != nil {
		if st, ok := clientStats(cs, pick, extra); ok {
			p.Client = &st
			if name == PhaseTTFT || name == PhaseE2E {
				p.Residual = residual(st, p.Server)
			}
		}
	}
	return p
}

func clientStats(cs []client, pick func(client) []float64, extra ...*stats.Sample) (stats.Stats, bool) {
	var s stats.Sample
	for _, c := range cs {
		for _, v := range pick(c) {
			if !math.IsNaN(v) {
				s.Add(v)
			}
		}
	}
	for _, e := range extra {
		s.Merge(e)
	}
	if s.Len() == 0 {
		return stats.Stats{}, false
	}
	return s.Stats(), true
}

func residual(c stats.Stats, s ServerStats) *Residual {
	r := &Residual{MeanMS: c.Mean - s.MeanMS}
	if s.Interpolated {
		d := func(name string, a, b float64) *float64 {
			if slices.Contains(s.AtMost, name) {
				return nil // a bound, not a value: no difference to take
			}
			v := a - b
			return &v
		}
		r.P50MS, r.P95MS, r.P99MS = d("p50", c.P50, s.P50MS), d("p95", c.P95, s.P95MS), d("p99", c.P99, s.P99MS)
	}
	return r
}

// estimateTGITTFT adds TGI's server TTFT, which it has no histogram for:
// validation + queue + prefill means. Each request is in one prefill
// batch, but the prefill mean is over batches, not requests, so under
// batching this is an estimate, and it has no percentiles.
func estimateTGITTFT(w *Window, cs []client) {
	total, n, parts := 0.0, 0.0, 0
	for _, name := range []string{PhaseValidation, PhaseQueue, PhasePrefill} {
		if p, ok := w.Phase(name); ok {
			total += p.Server.MeanMS
			n = max(n, p.Server.Count)
			parts++
		}
	}
	if parts < 2 { // queue and prefill at least
		return
	}
	p := Phase{Name: PhaseTTFT, Metric: "tgi_request_validation_duration + tgi_request_queue_duration + tgi_batch_inference_duration{method=\"prefill\"}",
		Server: ServerStats{Count: n, MeanMS: total, Estimated: "sum of the validation, queue and prefill means: TGI has no TTFT histogram, and a prefill batch's time is shared by the requests in it"}}
	if st, ok := clientStats(cs, func(c client) []float64 { return []float64{c.ttft} }); ok {
		p.Client = &st
		p.Residual = residual(st, p.Server)
	}
	w.Phases = append([]Phase{p}, w.Phases...)
}

// gauges reads the engine's gauges over the window's scrapes.
func gauges(d dialect, ss []scrape.Scrape) []Gauge {
	var out []Gauge
	for _, gd := range d.gauges {
		for _, m := range gd.metrics {
			g := Gauge{Name: gd.name, Metric: m}
			n := 0
			for _, s := range ss {
				if s.Error != "" {
					continue
				}
				v, ok := gaugeOf(s.Samples, m, gd.mean)
				if !ok {
					continue
				}
				g.observe(v, n)
				n++
			}
			if n > 0 {
				g.finish(n)
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// breakdown splits the client's mean TTFT: means add up exactly, which
// percentiles do not, so the shares are of the mean.
func breakdown(w Window) *Breakdown {
	ttft, ok := w.Phase(PhaseTTFT)
	if !ok || ttft.Client == nil || ttft.Client.Mean <= 0 || w.CountMismatch {
		return nil
	}
	b := &Breakdown{ClientTTFTMS: ttft.Client.Mean}
	server := ttft.Server.MeanMS
	add := func(name string, ms float64) {
		ms = max(ms, 0)
		b.Parts = append(b.Parts, Part{Name: name, MS: ms, Share: ms / b.ClientTTFTMS})
	}
	add("network_client", b.ClientTTFTMS-server)
	rest := server
	if q, ok := w.Phase(PhaseQueue); ok {
		add("queue", min(q.Server.MeanMS, rest))
		rest -= q.Server.MeanMS
	}
	if p, ok := w.Phase(PhasePrefill); ok {
		add("prefill", min(p.Server.MeanMS, max(rest, 0)))
		rest -= p.Server.MeanMS
	}
	if rest > 0 {
		add("other_server", rest)
	}
	if d, ok := w.Phase(PhaseDecode); ok {
		v := d.Server.MeanMS
		b.ServerDecodeMS = &v
	}
	return b
}

// Point is a gauge's value at one scrape.
type Point struct {
	UnixNS int64
	Value  float64
}

// GaugeSeries reads engine's gauges (GaugeRunning, GaugeWaiting,
// GaugeKVCache) at each good scrape from fromNS to toNS, for charts on the
// requests' time axis.
func GaugeSeries(ss []scrape.Scrape, engine string, fromNS, toNS int64) map[string][]Point {
	var mine []scrape.Scrape
	for _, s := range ss {
		if s.Engine == engine && s.Kind == "" && s.Error == "" && s.UnixNS >= fromNS && s.UnixNS <= toNS {
			mine = append(mine, s)
		}
	}
	sets := make([]sampleSet, len(mine))
	for i, s := range mine {
		sets[i] = s.Samples
	}
	d, ok := dialectOf(sets...)
	if !ok {
		return nil
	}
	out := map[string][]Point{}
	for _, gd := range d.gauges {
		for _, m := range gd.metrics {
			for _, s := range mine {
				if v, ok := gaugeOf(s.Samples, m, gd.mean); ok {
					out[gd.name] = append(out[gd.name], Point{s.UnixNS, v})
				}
			}
			if len(out[gd.name]) > 0 {
				break
			}
		}
	}
	return out
}
