package plugin

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestSwitchHandlerMovesDerivedLoggers(t *testing.T) {
	var early, late bytes.Buffer
	sw := newSwitchHandler(slog.NewTextHandler(&early, nil))
	log := slog.New(sw).With("pod", "vllm-0")
	log.Info("first")
	sw.set(slog.NewTextHandler(&late, nil))
	log.Info("second")
	if !strings.Contains(early.String(), "first") || strings.Contains(early.String(), "second") {
		t.Fatalf("early: %q", early.String())
	}
	if !strings.Contains(late.String(), "msg=second pod=vllm-0") {
		t.Fatalf("a logger derived before the switch should follow it with its attributes: %q", late.String())
	}
}
