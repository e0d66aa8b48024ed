package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// PlanVersion is the version of Plan's JSON; a worker refuses another.
const PlanVersion = 1

// Plan is what every load worker of a distributed run executes (run
// --in-cluster): the run's configuration, resolved, written by the plugin
// into the Job's ConfigMap. It holds no secret: the API key reaches the
// worker from a Secret, through its environment (APIKeyEnv), in
// --api-key's grammar (KEY, or TARGET=KEY,…).
type Plan struct {
	Version int `json:"version"`
	// RunID is the plugin's run: every worker's records carry it, so the
	// merged journal is one run's.
	RunID   string          `json:"run_id"`
	Workers int             `json:"workers"`
	Targets []engine.Target `json:"targets"`
	// APIKeyTarget, when set, is the only target the key is for (the
	// Secret holds a bare key: --api-key-secret TARGET=NAME/KEY).
	APIKeyTarget string              `json:"api_key_target,omitempty"`
	Scenarios    []workload.Scenario `json:"scenarios"`
	// TraceEntries are the replayed traces' entries by scenario (a
	// Scenario's JSON leaves them out).
	TraceEntries  map[string][]workload.TraceEntry `json:"trace_entries,omitempty"`
	Prompts       []engine.Request                 `json:"prompts"`
	FollowUps     [][]string                       `json:"follow_ups,omitempty"`
	Timeout       time.Duration                    `json:"timeout_ns"`
	Grace         time.Duration                    `json:"grace_ns"`
	Parallel      bool                             `json:"parallel,omitempty"`
	Seed          int64                            `json:"seed"`
	UniquePrompts bool                             `json:"unique_prompts"`
	SamplePrompts bool                             `json:"sample_prompts,omitempty"`
	Insecure      bool                             `json:"insecure_skip_tls_verify,omitempty"`
	// Resolve is --resolve: HOST:PORT → ADDR:PORT.
	Resolve map[string]string `json:"resolve,omitempty"`
	// StartTolerance is how late a worker may begin after the agreed
	// instant before the run fails: later, its load would not overlap
	// the others'.
	StartTolerance time.Duration `json:"start_tolerance_ns"`
	// Linger bounds how long a finished worker waits for the plugin to
	// collect its journal, and a ready one for the start.
	Linger time.Duration `json:"linger_ns"`
}

// APIKeyEnv is the worker's environment variable holding the engines'
// bearer token (from a Secret: never in the plan).
const APIKeyEnv = "LLMBENCH_API_KEY"

// EncodePlan is the plan as the ConfigMap holds it, with the traces'
// entries carried beside their scenarios.
func EncodePlan(p Plan) ([]byte, error) {
	p.Version = PlanVersion
	for _, s := range p.Scenarios {
		if s.Trace != nil {
			if p.TraceEntries == nil {
				p.TraceEntries = map[string][]workload.TraceEntry{}
			}
			p.TraceEntries[s.Name] = s.Trace.Entries
		}
	}
	return json.Marshal(p)
}

// DecodePlan reads a plan back and puts the traces' entries in place.
func DecodePlan(b []byte) (Plan, error) {
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("reading the plan: %w", err)
	}
	if p.Version != PlanVersion {
		return p, fmt.Errorf("plan version %d: this worker reads version %d; run the worker image of the plugin's own version (--image)", p.Version, PlanVersion)
	}
	if p.Workers < 1 {
		return p, errors.New("the plan names no workers")
	}
	if len(p.Targets) == 0 || len(p.Scenarios) == 0 || len(p.Prompts) == 0 {
		return p, errors.New("the plan has no targets, scenarios or prompts")
	}
	for i, s := range p.Scenarios {
		if s.Trace != nil {
			tr := *s.Trace
			tr.Entries = p.TraceEntries[s.Name]
			p.Scenarios[i].Trace = &tr
		}
	}
	return p, nil
}

// slotSlack is the time a scenario's slot leaves after its planned end
// for its last answers to arrive.
const slotSlack = 3 * time.Second

// Slots is when each target's scenarios start, from start: every worker
// of a run computes the same timeline, so all begin each scenario
// together, not only the first. A scenario of unknown length (bounded by
// its request count alone) ends the timeline: later ones start as soon as
// their worker gets to them.
func (p Plan) Slots(start time.Time) func(i, k int) time.Time {
	var per []time.Duration // offset of scenario k within one target's run
	var span time.Duration  // one target's run
	known := true
	for _, s := range p.Scenarios {
		if !known {
			per = append(per, -1)
			continue
		}
		per = append(per, span)
		if d := s.ExpectedDuration(); d > 0 {
			span += d + slotSlack
		} else {
			known = false
		}
	}
	return func(i, k int) time.Time {
		if k >= len(per) || per[k] < 0 || (!p.Parallel && i > 0 && !known) {
			return time.Time{}
		}
		off := per[k]
		if !p.Parallel {
			off += time.Duration(i) * span
		}
		return start.Add(off)
	}
}
