package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/prometheus/prometheus/promql/parser"
)

func init() {
	// Strict unmarshalling checks panel options and targets against their
	// plugins' schemas only for the plugins registered.
	plugins.RegisterDefaultPlugins()
}

// panelsWithoutQueries are panel types that show no data.
var panelsWithoutQueries = map[string]bool{"text": true, "news": true, "dashlist": true}

// closedLabels are the exporter's labels with a fixed vocabulary: a
// matcher on them must name a value the exporter uses.
var closedLabels = map[string]bool{"phase": true, "outcome": true}

// check returns every problem with a dashboard: not a valid Grafana
// dashboard (strictly, so a misspelt field fails), a panel without
// Prometheus queries, a query PromQL cannot parse, or one that selects a
// series or label that nothing exposes.
func check(raw []byte, known series) []error {
	// SDK v0.0.22's strict unmarshal returns its list of errors as an
	// error even when the list is empty, and where it nests by returning
	// that error (a panel in the panel list, a target, a panel's options)
	// it drops the valid part it just read. Real errors still come up
	// through every level, so the strict pass only validates, with an
	// empty list read as success, and the lenient one reads the content.
	var strict dashboard.Dashboard
	if err := strict.UnmarshalJSONStrict(raw); err != nil {
		var be cog.BuildErrors
		if !errors.As(err, &be) || len(be) > 0 {
			return []error{fmt.Errorf("not a valid dashboard: %w", err)}
		}
	}
	var d dashboard.Dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return []error{fmt.Errorf("not a valid dashboard: %w", err)}
	}
	c := &checker{known: known, vars: map[string]dashboard.VariableModel{}}
	c.variables(d.Templating.List)
	var panels []dashboard.Panel
	for _, p := range d.Panels {
		switch {
		case p.RowPanel != nil:
			c.panelID(p.RowPanel.Id, "row "+deref(p.RowPanel.Title))
			panels = append(panels, p.RowPanel.Panels...)
		case p.Panel != nil:
			panels = append(panels, *p.Panel)
		}
	}
	if len(panels) == 0 {
		c.errorf("no panels")
	}
	for _, p := range panels {
		c.panel(p)
	}
	return c.errs
}

type checker struct {
	known series
	vars  map[string]dashboard.VariableModel
	ids   []uint32
	errs  []error
}

func (c *checker) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (c *checker) panelID(id uint32, what string) {
	if slices.Contains(c.ids, id) {
		c.errorf("%s: panel id %d is used twice", what, id)
	}
	c.ids = append(c.ids, id)
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// variables wants a Prometheus datasource variable, and engine and
// scenario variables whose label_values queries select known labels.
func (c *checker) variables(list []dashboard.VariableModel) {
	for _, v := range list {
		c.vars[v.Name] = v
	}
	ds, ok := c.vars["datasource"]
	if !ok || ds.Type != dashboard.VariableTypeDatasource || ds.Query == nil || deref(ds.Query.String) != "prometheus" {
		c.errorf(`no datasource variable "datasource" of type datasource with query prometheus`)
	}
	for _, name := range []string{"engine", "scenario"} {
		v, ok := c.vars[name]
		if !ok || v.Type != dashboard.VariableTypeQuery || v.Query == nil || v.Query.Map == nil {
			c.errorf("no query variable %q", name)
			continue
		}
		if ref := v.Datasource; ref == nil || deref(ref.Uid) != "${datasource}" {
			c.errorf("variable %s does not query the ${datasource} variable", name)
		}
		q, _ := v.Query.Map["query"].(string)
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			c.errorf("variable %s: query %q is not label_values(SELECTOR, LABEL)", name, q)
			continue
		}
		if m[2] != name {
			c.errorf("variable %s lists label_values of %s", name, m[2])
		}
		c.expr("variable "+name, m[1])
		if sel, err := promql.ParseExpr(substitute(m[1])); err == nil {
			c.labelsOn("variable "+name, sel, []string{m[2]}, "label_values")
		}
	}
}

func (c *checker) panel(p dashboard.Panel) {
	what := fmt.Sprintf("panel %q", deref(p.Title))
	if p.Id == nil {
		c.errorf("%s has no id", what)
	} else {
		c.panelID(*p.Id, what)
	}
	if deref(p.Title) == "" {
		c.errorf("panel %v has no title", p.Id)
	}
	if p.GridPos == nil {
		c.errorf("%s has no gridPos", what)
	}
	if panelsWithoutQueries[p.Type] {
		return
	}
	if len(p.Targets) == 0 {
		c.errorf("%s has no targets", what)
	}
	if ref := p.Datasource; ref == nil || deref(ref.Uid) != "${datasource}" {
		c.errorf("%s does not use the ${datasource} variable", what)
	}
	for i, t := range p.Targets {
		q, ok := t.(*prometheus.Dataquery)
		if !ok {
			c.errorf("%s target %d is a %T, not a Prometheus query", what, i, t)
			continue
		}
		c.expr(fmt.Sprintf("%s target %s", what, deref(q.RefId)), q.Expr)
	}
}

// Grafana's variables: the interval ones become durations, the others
// (all of them values inside label matchers here) a plain word. A
// variable anywhere a word is not valid PromQL then fails to parse.
var (
	grafanaVar = regexp.MustCompile(`\$\{([a-zA-Z0-9_]+)(?::[a-z]+)?\}|\$([a-zA-Z0-9_]+)`)
	durations  = map[string]string{
		"__rate_interval": "1m", "__interval": "15s", "__range": "1h",
		"__rate_interval_ms": "60000", "__interval_ms": "15000", "__range_s": "3600", "__range_ms": "3600000",
	}
)

func substitute(expr string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		g := grafanaVar.FindStringSubmatch(m)
		name := g[1] + g[2]
		if d, ok := durations[name]; ok {
			return d
		}
		return "placeholder"
	})
}

var promql = parser.NewParser(parser.Options{})

// expr parses one query and checks every selector in it and every label
// its aggregations and vector matchings name.
func (c *checker) expr(what, expr string) {
	if strings.TrimSpace(expr) == "" {
		c.errorf("%s: empty expr", what)
		return
	}
	e, err := promql.ParseExpr(substitute(expr))
	if err != nil {
		c.errorf("%s: %q: %v", what, expr, err)
		return
	}
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			c.selector(what, n)
		case *parser.AggregateExpr:
			if !n.Without {
				c.labelsOn(what, n.Expr, n.Grouping, "by")
			}
		case *parser.BinaryExpr:
			if vm := n.VectorMatching; vm != nil && vm.On && len(vm.MatchingLabels) > 0 {
				c.labelsOn(what, n.LHS, vm.MatchingLabels, "on")
				c.labelsOn(what, n.RHS, vm.MatchingLabels, "on")
			}
		}
		return nil
	})
}

func (c *checker) selector(what string, vs *parser.VectorSelector) {
	name := vs.Name
	if name == "" {
		c.errorf("%s: selector %s names no metric", what, vs)
		return
	}
	labels, ok := c.known[name]
	if !ok {
		c.errorf("%s: %s is neither the exporter's nor in the engines' transcripts", what, name)
		return
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == "__name__" {
			continue
		}
		values, ok := labels[m.Name]
		if !ok {
			c.errorf("%s: %s has no label %s (it has %s)", what, name, m.Name, keys(labels))
			continue
		}
		if closedLabels[m.Name] && m.Type.String() == "=" && !values[m.Value] {
			c.errorf("%s: %s{%s=%q}: the exporter uses %s", what, name, m.Name, m.Value, keys(values))
		}
	}
}

// labelsOn checks that every selector under e has each label.
func (c *checker) labelsOn(what string, e parser.Expr, names []string, clause string) {
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		labels, ok := c.known[vs.Name]
		if !ok {
			return nil // reported by selector
		}
		for _, l := range names {
			if _, ok := labels[l]; !ok {
				c.errorf("%s: %s (%s) has no label %s (it has %s)", what, clause, vs.Name, l, keys(labels))
			}
		}
		return nil
	})
}

func keys[V any](m map[string]V) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
