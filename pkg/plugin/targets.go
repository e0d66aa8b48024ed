package plugin

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// parseTarget reads NAME=URL (NAME is an engine type) or NAME=TYPE+URL.
func parseTarget(s string) (engine.Target, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return engine.Target{}, fmt.Errorf("--target %q: write NAME=URL (NAME one of vllm, tgi, ollama, openai) or NAME=TYPE+URL", engine.RedactURL(s))
	}
	typ := name
	if i := strings.Index(rest, "+http"); i > 0 {
		typ, rest = rest[:i], rest[i+1:]
	}
	return newTarget(name, typ, rest, "", "explicit", fmt.Sprintf("--target %q", engine.RedactURL(s)))
}

func newTarget(name, typ, rawURL, api, access, where string) (engine.Target, error) {
	t, err := engine.ParseEngineType(typ)
	if err != nil {
		return engine.Target{}, fmt.Errorf("%s: %w; name the type with NAME=TYPE+URL", where, err)
	}
	base, urlAPI, err := engine.SplitEndpointURL(rawURL)
	if err != nil {
		return engine.Target{}, fmt.Errorf("%s: %w", where, err)
	}
	a := engine.DefaultAPI(t)
	if urlAPI != "" {
		a = urlAPI
	}
	if api != "" {
		if a, err = engine.ParseAPI(api); err != nil {
			return engine.Target{}, fmt.Errorf("%s: %w", where, err)
		}
	}
	if !t.Supports(a) {
		return engine.Target{}, fmt.Errorf("%s: a %s server does not serve %s", where, t, a.Path())
	}
	return engine.Target{Name: name, Type: t, BaseURL: base, API: a, Access: access}, nil
}

// targetsFrom collects targets from flags, config targets and
// services.manual_urls, in that order of precedence by name.
func targetsFrom(flagTargets []string, cfg workload.Config) ([]engine.Target, error) {
	var out []engine.Target
	seen := map[string]bool{}
	add := func(t engine.Target) error {
		if seen[t.Name] {
			return nil
		}
		seen[t.Name] = true
		out = append(out, t)
		return nil
	}
	for _, s := range flagTargets {
		t, err := parseTarget(s)
		if err != nil {
			return nil, err
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("--target %q: the name %q is used twice; give each target its own name", s, t.Name)
		}
		_ = add(t)
	}
	for i, tc := range cfg.Targets {
		typ := tc.Type
		if typ == "" {
			typ = tc.Name
		}
		t, err := newTarget(tc.Name, typ, tc.URL, tc.API, "explicit", fmt.Sprintf("targets[%d]", i))
		if err != nil {
			return nil, err
		}
		t.Model = tc.Model
		_ = add(t)
	}
	names := make([]string, 0, len(cfg.Services.ManualURLs))
	for n := range cfg.Services.ManualURLs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t, err := newTarget(n, n, cfg.Services.ManualURLs[n], "", "manual_url", fmt.Sprintf("services.manual_urls.%s", n))
		if err != nil {
			return nil, err
		}
		_ = add(t)
	}
	return out, nil
}

// filterTargets keeps targets whose name or type is listed.
func filterTargets(ts []engine.Target, engines []string) ([]engine.Target, error) {
	if len(engines) == 0 {
		return ts, nil
	}
	var out []engine.Target
	for _, t := range ts {
		for _, e := range engines {
			if strings.EqualFold(e, t.Name) || strings.EqualFold(e, string(t.Type)) {
				out = append(out, t)
				break
			}
		}
	}
	if len(out) == 0 {
		var names []string
		for _, t := range ts {
			names = append(names, t.Name)
		}
		return nil, fmt.Errorf("--engines %s matches none of the targets (%s)", strings.Join(engines, ","), strings.Join(names, ", "))
	}
	return out, nil
}

// applyModels reads --model NAME (every target) or --model TARGET=NAME.
func applyModels(ts []engine.Target, models []string) error {
	for _, m := range models {
		target, name, scoped := strings.Cut(m, "=")
		if !scoped {
			for i := range ts {
				ts[i].Model = m
			}
			continue
		}
		found := false
		for i := range ts {
			if ts[i].Name == target {
				ts[i].Model, found = name, true
			}
		}
		if !found {
			return fmt.Errorf("--model %q: no target named %q", m, target)
		}
	}
	return nil
}

// applyAPIKeys reads KEY (every target) or TARGET=KEY[,TARGET=KEY]. A key
// is only TARGET=KEY when the part before "=" names a target, since keys
// themselves may end in "=". Sending a key in clear text to another host
// gets a warning.
func applyAPIKeys(ts []engine.Target, spec string, warn io.Writer) error {
	if spec == "" {
		return nil
	}
	names := map[string]int{}
	for i, t := range ts {
		names[t.Name] = i
	}
	scoped := false
	for _, part := range strings.Split(spec, ",") {
		name, key, ok := strings.Cut(part, "=")
		if i, known := names[name]; ok && known {
			ts[i].APIKey = key
			scoped = true
		}
	}
	if !scoped {
		for i := range ts {
			ts[i].APIKey = spec
		}
	}
	for _, t := range ts {
		if t.APIKey == "" {
			continue
		}
		u, err := url.Parse(t.BaseURL)
		if err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
			fmt.Fprintf(warn, "warning: the API key for %s is sent unencrypted over http:// to %s\n", t.Name, u.Host)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// gpuMetricsSpec is one --gpu-metrics: a DCGM exporter's URL for one
// target, or for every target when target is empty.
type gpuMetricsSpec struct{ target, url string }

// parseGPUMetrics reads --gpu-metrics [TARGET=]URL values; a URL without a
// path scrapes its /metrics.
func parseGPUMetrics(specs []string) ([]gpuMetricsSpec, error) {
	var out []gpuMetricsSpec
	for _, s := range specs {
		target, raw := "", s
		if name, rest, ok := strings.Cut(s, "="); ok && !strings.Contains(name, "://") {
			target, raw = name, rest
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--gpu-metrics %q: write a DCGM exporter's URL, like http://10.0.0.5:9400/metrics, or TARGET=URL for one engine", engine.RedactURL(s))
		}
		if u.User != nil {
			return nil, fmt.Errorf("--gpu-metrics %q: drop the user:password part; DCGM exporters take no credentials, and the URL is kept in the run's manifest", engine.RedactURL(s))
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/metrics"
		}
		out = append(out, gpuMetricsSpec{target: target, url: u.String()})
	}
	return out, nil
}

// applyGPUMetrics points targets at the DCGM exporters --gpu-metrics
// names, over what discovery found. A target name it does not know is an
// error that lists the known ones.
func applyGPUMetrics(ts []engine.Target, specs []gpuMetricsSpec) error {
	// A target's own URL wins over one for all, in any order: the
	// unscoped ones are applied first.
	for _, scoped := range []bool{false, true} {
		for _, sp := range specs {
			if (sp.target != "") != scoped {
				continue
			}
			found := false
			for i := range ts {
				if sp.target == "" || ts[i].Name == sp.target {
					ts[i].GPUMetrics = &engine.MetricsEndpoint{URL: sp.url, Found: "--gpu-metrics"}
					found = true
				}
			}
			if !found {
				var names []string
				for _, t := range ts {
					names = append(names, t.Name)
				}
				return fmt.Errorf("--gpu-metrics %s=…: no target named %q; the targets are %s", sp.target, sp.target, strings.Join(names, ", "))
			}
		}
	}
	return nil
}
