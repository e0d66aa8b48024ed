package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// ReachOptions say how to reach engines.
type ReachOptions struct {
	Method placement.Method
	// HTTP is the client for direct URLs (Routes, Ingresses, NodePorts,
	// port-forwards); its TLS settings apply.
	HTTP *http.Client
	// ProbeTimeout bounds each confirmation probe (default 5s), so an
	// unreachable node address falls through to the next way quickly.
	ProbeTimeout time.Duration
	Log          *slog.Logger
	// APIKey is sent with the probes of engines that demand one.
	APIKey string
	// Metrics also opens the ways to the engine's metrics and its GPUs'
	// DCGM exporter (a run; discover only lists them).
	Metrics bool
}

// Reached is an engine confirmed by a probe through one way in.
type Reached struct {
	Engine *Engine
	Way    Way
	// HTTP is set where the way needs its own client (the service proxy
	// carries the kubeconfig's credentials).
	HTTP *http.Client
	Info engine.EngineInfo
	// Tried lists the ways that did not answer, and why.
	Tried   []string
	Forward *Forward
	// Metrics is where the engine's own metrics are scraped (nil: none
	// found); GPU the DCGM exporter on its node. MetricsNotes say what
	// could not be opened.
	Metrics      *engine.MetricsEndpoint
	GPU          *engine.MetricsEndpoint
	MetricsNotes []string
	// forwards are the tunnels to the metrics and the GPU exporter.
	forwards []*Forward
}

// Close ends the port-forwards, if any.
func (r *Reached) Close() {
	if r == nil {
		return
	}
	if r.Forward != nil {
		r.Forward.Close()
	}
	for _, f := range r.forwards {
		f.Close()
	}
}

// Target is the bench target for the reached engine.
func (r *Reached) Target(name string) engine.Target {
	return engine.Target{Name: name, Type: r.Engine.Type, BaseURL: r.Way.URL, API: engine.DefaultAPI(r.Engine.Type),
		Access: string(r.Way.Method), HTTP: r.HTTP, Metrics: r.Metrics, GPUMetrics: r.GPU}
}

// Reach opens the first way in (in AutoOrder, or only the one asked for)
// where the engine answers its probe (/v1/models, TGI /info, Ollama
// /api/version), which also reads its model and version.
func (c *Client) Reach(ctx context.Context, s *Snapshot, e *Engine, o ReachOptions) (*Reached, error) {
	if o.ProbeTimeout == 0 {
		o.ProbeTimeout = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.HTTP == nil {
		o.HTTP = engine.NewHTTPClient(engine.HTTPOptions{})
	}
	r := &Reached{Engine: e}
	for _, w := range s.WaysVia(e, c.REST.Host, o.Method) {
		hc := o.HTTP
		var fwd *Forward
		switch w.Method {
		case placement.MethodPortForward:
			f, err := c.PortForward(context.WithoutCancel(ctx), e.Namespace, c.forwardTarget(e), o.Log)
			if err != nil {
				r.Tried = append(r.Tried, fmt.Sprintf("port-forward: %v", err))
				continue
			}
			fwd = f
			w.URL = fmt.Sprintf("http://127.0.0.1:%d", f.LocalPort)
			w.Detail = fmt.Sprintf("pod %s, local port %d", f.Pod.Load(), f.LocalPort)
		case placement.MethodProxy:
			tr, err := rest.TransportFor(c.REST)
			if err != nil {
				r.Tried = append(r.Tried, fmt.Sprintf("proxy: %v", err))
				continue
			}
			hc = &http.Client{Transport: tr}
		}
		pctx, cancel := context.WithTimeout(ctx, o.ProbeTimeout)
		t := engine.Target{Name: e.Service, Type: e.Type, BaseURL: w.URL, API: engine.DefaultAPI(e.Type), APIKey: o.APIKey}
		info, err := engine.Probe(pctx, hc, t)
		cancel()
		if err != nil {
			if fwd != nil {
				fwd.Close()
			}
			r.Tried = append(r.Tried, fmt.Sprintf("%s %s: %v", w.Method, w.URL, err))
			o.Log.Info("way in did not answer", "service", e.Key(), "method", w.Method, "url", w.URL, "error", err)
			continue
		}
		r.Way, r.Info, r.Forward = w, info, fwd
		if w.Method == placement.MethodProxy {
			r.HTTP = hc
		}
		if o.Metrics {
			c.reachMetrics(ctx, s, r, o)
		}
		return r, nil
	}
	if len(r.Tried) == 0 {
		var have []string
		for _, w := range s.Ways(e, c.REST.Host) {
			have = append(have, string(w.Method))
		}
		return r, fmt.Errorf("%s (%s): no %s way in; it can be reached by: %s; pass --access auto", e.Key(), e.Type, o.Method, strings.Join(have, ", "))
	}
	return r, fmt.Errorf("%s (%s) did not answer: %s", e.Key(), e.Type, strings.Join(r.Tried, "; "))
}

// forwardTarget re-reads the Service's Pods on every (re)connect, so a
// replaced Pod is found.
func (c *Client) forwardTarget(e *Engine) ForwardTarget {
	first := true
	return func(ctx context.Context) (string, int32, error) {
		pods := e.pods
		if !first {
			s := &Snapshot{Namespace: e.Namespace, Services: []corev1.Service{*e.svc}}
			sel := metav1.ListOptions{}
			if l, err := c.Kube.CoreV1().Pods(e.Namespace).List(ctx, sel); err == nil {
				s.Pods = l.Items
			} else {
				return "", 0, explain(err, "list", "pods", e.Namespace)
			}
			if len(e.svc.Spec.Selector) == 0 {
				if l, err := c.Kube.DiscoveryV1().EndpointSlices(e.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + e.Service}); err == nil {
					s.Slices = l.Items
				}
			}
			pods = s.podsBehind(e.svc)
		}
		first = false
		p, port, err := pickPod(e.Namespace, e.Service, e.port, pods)
		if err != nil {
			return "", 0, err
		}
		return p.Name, port, nil
	}
}
