package openmetrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves the exporter's registry. It negotiates the format: a
// Prometheus with native histograms enabled asks for protobuf and gets
// them; OpenMetrics and the classic text format show the classic buckets.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		// One family failing to gather must not blank the others.
		ErrorHandling: promhttp.ContinueOnError,
		// A scrape that waits behind a slow one is worse than a refused one.
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// Serve listens on addr (host:port; port 0 picks one) and serves Handler
// at /metrics and a one-line index at /. It returns the address bound and
// a stop function that shuts the server down.
func (e *Exporter) Serve(addr string) (bound string, stop func(context.Context) error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, listenError(addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", e.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "kubectl-llmbench: Prometheus metrics at /metrics\n")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), srv.Shutdown, nil
}

func listenError(addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("--metrics-addr %s: address in use; pick another port or 127.0.0.1:0", addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("--metrics-addr %s: no such address on this machine; use 127.0.0.1:PORT or 0.0.0.0:PORT", addr)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("--metrics-addr %s: permission denied; pick a port above 1023", addr)
	}
	return fmt.Errorf("--metrics-addr %s: %w; pass host:port, e.g. 127.0.0.1:9464", addr, err)
}
