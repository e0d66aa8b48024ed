package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	streamhttp "k8s.io/streaming/pkg/httpstream"
)

// ForwardTarget says which Pod and container port to tunnel to; it is
// asked again on every reconnect, so a restarted Pod is found.
type ForwardTarget func(ctx context.Context) (pod string, port int32, err error)

// Forward is a port-forward from 127.0.0.1:LocalPort to an engine Pod
// that re-establishes itself on the same local port when the tunnel
// drops, so a run's target URL stays valid. Connections made while it is
// down are refused and recorded as connect errors; the run goes on.
type Forward struct {
	LocalPort int
	Pod       atomic.Value // string: the Pod currently tunnelled to

	reconnects atomic.Int64
	cancel     context.CancelFunc
	done       chan struct{}
}

// Reconnects counts re-established tunnels.
func (f *Forward) Reconnects() int64 { return f.reconnects.Load() }

// Close stops the tunnel and waits for it.
func (f *Forward) Close() {
	f.cancel()
	<-f.done
}

// PortForward opens a tunnel through the API server to the Pod target
// picks, on a free port of 127.0.0.1, WebSocket first with a fallback to
// SPDY as kubectl does.
func (c *Client) PortForward(ctx context.Context, ns string, target ForwardTarget, log *slog.Logger) (*Forward, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	f := &Forward{cancel: cancel, done: make(chan struct{})}
	pod, errc, local, err := c.openForward(ctx, ns, target, 0, log)
	if err != nil {
		cancel()
		close(f.done)
		return nil, err
	}
	f.LocalPort = local
	f.Pod.Store(pod)
	go func() {
		defer close(f.done)
		backoff := 100 * time.Millisecond
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-errc:
				if ctx.Err() != nil {
					return
				}
				log.Warn("port-forward lost; re-establishing", "namespace", ns, "pod", f.Pod.Load(), "local_port", f.LocalPort, "error", err)
			}
			for {
				pod, next, _, err := c.openForward(ctx, ns, target, f.LocalPort, log)
				if err == nil {
					f.Pod.Store(pod)
					f.reconnects.Add(1)
					log.Info("port-forward re-established", "namespace", ns, "pod", pod, "local_port", f.LocalPort)
					errc, backoff = next, 100*time.Millisecond
					break
				}
				log.Warn("port-forward retry failed", "namespace", ns, "error", err, "retry_in", backoff)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, 2*time.Second)
			}
		}
	}()
	return f, nil
}

// openForward starts one tunnel and returns once it listens; errc
// receives when it ends.
func (c *Client) openForward(ctx context.Context, ns string, target ForwardTarget, local int, log *slog.Logger) (string, <-chan error, int, error) {
	pod, port, err := target(ctx)
	if err != nil {
		return "", nil, 0, err
	}
	dialer, err := c.forwardDialer(ns, pod)
	if err != nil {
		return "", nil, 0, err
	}
	ready := make(chan struct{})
	logw := &logWriter{log: log, msg: "port-forward"}
	fw, err := portforward.NewOnAddressesForStreamingWithContext(ctx, dialer, []string{"127.0.0.1"},
		[]string{strconv.Itoa(local) + ":" + strconv.Itoa(int(port))}, ready, logw, logw)
	if err != nil {
		return "", nil, 0, fmt.Errorf("port-forward to pod %s/%s: %w", ns, pod, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-errc:
		if err == nil {
			err = errors.New("stopped before it was ready")
		}
		if apierrors.IsForbidden(err) || strings.Contains(err.Error(), "Forbidden") || strings.Contains(err.Error(), "forbidden") {
			err = explain(apierrors.NewForbidden(schema.GroupResource{Resource: "pods/portforward"}, pod, err), "create", "pods/portforward", ns)
		}
		return "", nil, 0, fmt.Errorf("port-forward to pod %s/%s port %d: %w", ns, pod, port, err)
	case <-ctx.Done():
		return "", nil, 0, ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		fw.Close()
		return "", nil, 0, fmt.Errorf("port-forward to pod %s/%s: no local port: %v", ns, pod, err)
	}
	return pod, errc, int(ports[0].Local), nil
}

func (c *Client) forwardDialer(ns, pod string) (streamhttp.Dialer, error) {
	u := c.Kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(c.REST)
	if err != nil {
		return nil, fmt.Errorf("port-forward: %w", err)
	}
	spdyDialer := spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	// As kubectl's KUBECTL_PORT_FORWARD_WEBSOCKETS: a way out for proxies
	// that mangle WebSockets.
	if os.Getenv("LLMBENCH_PORT_FORWARD_WEBSOCKETS") == "false" {
		return spdyDialer, nil
	}
	ws, err := portforward.NewSPDYOverWebsocketDialerForStreaming(u, c.REST)
	if err != nil {
		return nil, fmt.Errorf("port-forward: %w", err)
	}
	return portforward.NewFallbackDialerForStreaming(ws, spdyDialer, func(err error) bool {
		return streamhttp.IsUpgradeFailure(err) || streamhttp.IsHTTPSProxyError(err)
	}), nil
}

// logWriter turns the port-forwarder's printed lines into debug logs.
type logWriter struct {
	log *slog.Logger
	msg string
	mu  sync.Mutex
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		if len(line) > 0 {
			w.log.Debug(w.msg, "detail", string(line))
		}
	}
	return len(p), nil
}
