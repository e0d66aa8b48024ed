package plugin

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// switchHandler is a slog.Handler whose destination can change while
// loggers built on it live on: a port-forward opened before run.log
// exists keeps logging into it afterwards.
type switchHandler struct {
	dst *atomic.Pointer[slog.Handler]
	// ops replay WithAttrs/WithGroup calls on the current destination.
	ops []func(slog.Handler) slog.Handler
}

func newSwitchHandler(h slog.Handler) *switchHandler {
	s := &switchHandler{dst: &atomic.Pointer[slog.Handler]{}}
	s.set(h)
	return s
}

func (s *switchHandler) set(h slog.Handler) { s.dst.Store(&h) }

func (s *switchHandler) current() slog.Handler {
	h := *s.dst.Load()
	for _, op := range s.ops {
		h = op(h)
	}
	return h
}

func (s *switchHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return s.current().Enabled(ctx, l)
}

func (s *switchHandler) Handle(ctx context.Context, r slog.Record) error {
	return s.current().Handle(ctx, r)
}

func (s *switchHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return s.with(func(h slog.Handler) slog.Handler { return h.WithAttrs(as) })
}

func (s *switchHandler) WithGroup(name string) slog.Handler {
	return s.with(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

func (s *switchHandler) with(op func(slog.Handler) slog.Handler) slog.Handler {
	ops := append(append([]func(slog.Handler) slog.Handler{}, s.ops...), op)
	return &switchHandler{dst: s.dst, ops: ops}
}
