package plugin

import (
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// redactArgs keeps the command reproducible without the API key.
func redactArgs(args []string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		out[i] = engine.RedactURL(out[i])
	}
	for i, a := range out {
		switch {
		case (a == "--api-key" || a == "--token") && i+1 < len(out):
			out[i+1] = "REDACTED"
		case strings.HasPrefix(a, "--api-key="), strings.HasPrefix(a, "--token="):
			k, _, _ := strings.Cut(a, "=")
			out[i] = k + "=REDACTED"
		}
	}
	return out
}
