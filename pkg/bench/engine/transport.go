package engine

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// HTTPOptions configure the client every request goes through.
type HTTPOptions struct {
	// InsecureSkipVerify disables TLS verification (self-signed routes).
	InsecureSkipVerify bool
	// MaxConns bounds connections per host; 0 means unbounded.
	MaxConns int
	// Resolve sends connections for HOST:PORT to another ADDR:PORT, as
	// curl --resolve does: the URL, Host header and TLS name stay.
	Resolve map[string]string
}

// NewHTTPClient returns a client tuned for many concurrent streams. It has
// no overall timeout: each request carries its own deadline in its context.
func NewHTTPClient(o HTTPOptions) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		// Every connection stamps its reads, so that a stream's bytes are
		// timed when they came off the socket (arrival.go).
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := o.Resolve[addr]; ok {
				addr = to
			}
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &arrivalConn{Conn: c}, nil
		},
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		MaxConnsPerHost:     o.MaxConns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		// Transparent gzip would sit between the socket and the frame
		// reader and could batch events; streams are small anyway.
		DisableCompression: true,
		ForceAttemptHTTP2:  true,
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify}, //nolint:gosec // opt-in flag, warned about
	}
	return &http.Client{Transport: tr}
}

// Clock converts monotonic instants into Unix nanoseconds from one wall
// anchor taken at the start of a run.
type Clock struct{ anchor time.Time }

// NewClock anchors a clock now.
func NewClock() Clock { return Clock{anchor: time.Now()} }

// UnixNS is the wall time of a monotonic instant.
func (c Clock) UnixNS(t time.Time) int64 { return c.anchor.UnixNano() + int64(t.Sub(c.anchor)) }

// Anchor is the instant the clock was started.
func (c Clock) Anchor() time.Time { return c.anchor }
