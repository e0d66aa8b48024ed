package cluster

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// reachMetrics opens the way to the engine's metrics where they are not
// on its API port, and to the DCGM exporter on its node. Nothing here is
// fatal: what cannot be opened becomes a note, and the run goes on
// without it.
func (c *Client) reachMetrics(ctx context.Context, s *Snapshot, r *Reached, o ReachOptions) {
	e := r.Engine
	if m, ok := s.Metrics(e); ok {
		ep, err := c.openMetrics(ctx, r, m, o)
		if err != nil {
			r.MetricsNotes = append(r.MetricsNotes, fmt.Sprintf("metrics (%s): %v; not scraped", m, err))
		} else {
			r.Metrics = ep
		}
	}
	if g, ok := s.GPUExporterFor(e); ok {
		f, err := c.PortForward(context.WithoutCancel(ctx), g.Namespace, func(context.Context) (string, int32, error) { return g.Pod, g.Port, nil }, o.Log)
		if err != nil {
			r.MetricsNotes = append(r.MetricsNotes, fmt.Sprintf("GPU metrics (%s): port-forward: %v; pass --gpu-metrics URL", g, err))
			return
		}
		r.forwards = append(r.forwards, f)
		r.GPU = &engine.MetricsEndpoint{URL: fmt.Sprintf("http://127.0.0.1:%d/metrics", f.LocalPort), Found: g.String(), Pods: g.EnginePods}
		if g.Note != "" {
			r.MetricsNotes = append(r.MetricsNotes, "GPU metrics: "+g.Note)
		}
	}
}

// openMetrics turns a metrics place into a URL: the engine's own way in
// for its API port; otherwise a second tunnel to the same Pod when the
// engine is port-forwarded, else the API server's service or Pod proxy.
func (c *Client) openMetrics(ctx context.Context, r *Reached, m MetricsPlace, o ReachOptions) (*engine.MetricsEndpoint, error) {
	if m.OnAPIPort {
		return &engine.MetricsEndpoint{URL: strings.TrimSuffix(r.Way.URL, "/") + m.Path, Found: m.Found, HTTP: r.HTTP}, nil
	}
	e := r.Engine
	pod, port := "", m.Port
	if r.Forward != nil {
		pod, _ = r.Forward.Pod.Load().(string)
	}
	for i := range e.pods {
		p := &e.pods[i]
		if (pod == "" && podReady(p)) || p.Name == pod {
			pod = p.Name
			if m.servicePort != nil {
				cp, err := ContainerPort(*m.servicePort, p)
				if err != nil {
					return nil, err
				}
				port = cp
			}
			break
		}
	}
	if r.Way.Method == placement.MethodPortForward {
		if pod == "" {
			return nil, fmt.Errorf("no Ready Pod of %s to tunnel to", e.Key())
		}
		f, err := c.PortForward(context.WithoutCancel(ctx), e.Namespace, func(context.Context) (string, int32, error) { return pod, port, nil }, o.Log)
		if err != nil {
			return nil, fmt.Errorf("port-forward: %w", err)
		}
		r.forwards = append(r.forwards, f)
		return &engine.MetricsEndpoint{URL: fmt.Sprintf("%s://127.0.0.1:%d%s", m.Scheme, f.LocalPort, m.Path), Found: m.Found + ", port-forward to " + pod}, nil
	}
	hc := r.HTTP // the service proxy's client, when that is the way in
	if hc == nil {
		tr, err := rest.TransportFor(c.REST)
		if err != nil {
			return nil, err
		}
		hc = &http.Client{Transport: tr}
	}
	if m.servicePort != nil {
		return &engine.MetricsEndpoint{URL: ProxyURL(c.REST.Host, e.Namespace, e.Service, *m.servicePort) + m.Path, Found: m.Found + ", API server service proxy", HTTP: hc}, nil
	}
	if pod == "" {
		return nil, fmt.Errorf("no Ready Pod of %s for the API server's Pod proxy", e.Key())
	}
	u := proxyURL(c.REST.Host, e.Namespace, "pods", pod, port, m.Scheme == "https") + m.Path
	return &engine.MetricsEndpoint{URL: u, Found: m.Found + ", API server Pod proxy", HTTP: hc}, nil
}
