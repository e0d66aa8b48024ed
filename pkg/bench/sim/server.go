package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// Server simulates vLLM, TGI and Ollama. Each engine has its own scheduler,
// so concurrent benchmarks of several engines do not slow each other.
type Server struct {
	engines  map[engine.EngineType]*backend
	handlers map[engine.EngineType]http.Handler
	// gpus are the simulated DCGM exporters, one per engine's GPU.
	gpus map[engine.EngineType]http.Handler

	mu      sync.Mutex
	servers []*http.Server
	closed  bool
	done    chan struct{}
}

// New builds a simulator. Nothing listens until Start or StartAll.
func New(opts Options) *Server {
	s := &Server{
		engines:  make(map[engine.EngineType]*backend, len(simulatedEngines)),
		handlers: make(map[engine.EngineType]http.Handler, len(simulatedEngines)),
		gpus:     make(map[engine.EngineType]http.Handler, len(simulatedEngines)),
		done:     make(chan struct{}),
	}
	created := time.Now()
	for _, kind := range simulatedEngines {
		e := newEngine(kind, opts, created)
		s.engines[kind] = e
		s.gpus[kind] = e.dcgmHandler()
		switch kind {
		case engine.EngineVLLM:
			s.handlers[kind] = e.vllmHandler()
		case engine.EngineTGI:
			s.handlers[kind] = e.tgiHandler()
		case engine.EngineOllama:
			s.handlers[kind] = e.ollamaHandler()
		}
	}
	return s
}

// Handler is one engine's whole HTTP surface. An engine the simulator does
// not imitate gets a handler that answers 404.
func (s *Server) Handler(engine engine.EngineType) http.Handler {
	if h, ok := s.handlers[engine]; ok {
		return h
	}
	return http.NotFoundHandler()
}

// Start serves one engine on addr (for example "127.0.0.1:0") until ctx is
// done or Close is called, and returns its base URL.
func (s *Server) Start(ctx context.Context, engine engine.EngineType, addr string) (baseURL string, err error) {
	baseURL, _, err = s.start(ctx, engine, addr)
	return baseURL, err
}

// StartGPU serves a simulated DCGM exporter for engine's GPU on addr and
// returns its /metrics URL: its utilisation is the share of time the
// engine had a sequence running, its memory the weights plus the KV cache
// in use.
func (s *Server) StartGPU(ctx context.Context, engine engine.EngineType, addr string) (string, error) {
	h, ok := s.gpus[engine]
	if !ok {
		return "", fmt.Errorf("no simulator for engine %q: use vllm, tgi or ollama", engine)
	}
	u, _, err := s.serve(ctx, engine, h, addr)
	return u + "/metrics", err
}

func (s *Server) start(ctx context.Context, engine engine.EngineType, addr string) (string, *http.Server, error) {
	h, ok := s.handlers[engine]
	if !ok {
		return "", nil, fmt.Errorf("no simulator for engine %q: use vllm, tgi or ollama", engine)
	}
	return s.serve(ctx, engine, h, addr)
}

func (s *Server) serve(ctx context.Context, engine engine.EngineType, h http.Handler, addr string) (string, *http.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", nil, errors.New("simulator is closed")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listening for the %s simulator on %s: %w", engine, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	go func() {
		select {
		case <-ctx.Done():
			_ = srv.Close()
		case <-s.done:
		}
	}()
	return listenerURL(ln.Addr()), srv, nil
}

// listenerURL names a listener the way a client reaches it: a wildcard
// address becomes loopback.
func listenerURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		if ip.To4() == nil && ip != nil {
			ip = net.IPv6loopback
		} else {
			ip = net.IPv4(127, 0, 0, 1)
		}
	}
	return "http://" + net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// StartAll serves vLLM, TGI and Ollama on free ports of host (default
// 127.0.0.1) and returns their base URLs.
func (s *Server) StartAll(ctx context.Context, host string) (map[engine.EngineType]string, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	urls := make(map[engine.EngineType]string, len(simulatedEngines))
	var started []*http.Server
	for _, kind := range simulatedEngines {
		u, srv, err := s.start(ctx, kind, net.JoinHostPort(host, "0"))
		if err != nil {
			for _, srv := range started {
				_ = srv.Close()
			}
			return nil, err
		}
		started = append(started, srv)
		urls[kind] = u
	}
	return urls, nil
}

// Close stops every listener and ends streams in progress.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
