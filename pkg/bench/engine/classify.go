package engine

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
)

func statusClass(code int) string {
	switch {
	case code == http.StatusTooManyRequests:
		return ErrHTTP429
	case code >= 500:
		return ErrHTTP5xx
	default:
		return ErrHTTP4xx
	}
}

// classifyContext tells a user's interrupt from the per-request deadline.
func classifyContext(parent, rctx context.Context) string {
	if parent.Err() != nil && !errors.Is(parent.Err(), context.DeadlineExceeded) {
		return ErrCanceled
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	return ErrCanceled
}

func classifyTransportError(parent, rctx context.Context, err error) string {
	if rctx.Err() != nil {
		return classifyContext(parent, rctx)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrTimeout
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ErrTimeout
	}
	return ErrConnect
}

// redactURLError keeps the cause of a transport error without the query
// string of the URL, where some gateways expect keys.
func redactURLError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}
