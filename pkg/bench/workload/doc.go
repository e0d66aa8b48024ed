// Package workload is what a run is asked to do: the typed configuration
// (config.go) with its presets (presets/*.yaml), the scenarios it expands
// into (scenario.go: arrival process, users, rate, duration, prompts,
// max tokens), load sweeps (sweep.go), service-level objectives and their
// per-request test (slo.go), token lengths as counts or distributions
// (tokens.go) and readable prompt text of a given length (synthetic.go),
// ranking weights (weights.go) and the conversation stories (story.go).
// Commands build a Config from flags and
// YAML; everything below reads it and nothing here sends a request.
package workload
