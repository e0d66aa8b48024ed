package workload

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/economics"
)

// Config is the whole benchmark definition, in the shape of the original
// plan's YAML (benchmark, services, test_scenarios) plus targets and the
// workload. Precedence: Default() < preset < file < flags.
type Config struct {
	Benchmark     BenchmarkMeta  `json:"benchmark"`
	Services      Services       `json:"services"`
	Targets       []TargetConfig `json:"targets,omitempty"`
	Workload      Workload       `json:"workload"`
	TestScenarios TestScenarios  `json:"test_scenarios"`
	Ranking       RankingConfig  `json:"ranking,omitempty"`
	// Economics prices each engine's GPUs for the cost tables.
	Economics economics.Economics `json:"economics,omitempty"`
	// HumanImpact models the people waiting for answers (estimates).
	HumanImpact economics.HumanImpact `json:"human_impact,omitzero"`
}

// RankingConfig weighs the overall ranking.
type RankingConfig struct {
	// Weights: "ttft=0.3,tpot=0.25,throughput=0.2,error_rate=0.15,consistency=0.1".
	Weights string `json:"weights,omitempty"`
}

// RankWeights are the configured weights, or the defaults.
func (c Config) RankWeights() (Weights, error) {
	if c.Ranking.Weights == "" {
		return DefaultWeights, nil
	}
	return ParseWeights(c.Ranking.Weights, "ranking.weights")
}

type BenchmarkMeta struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

type Services struct {
	Namespace  string            `json:"namespace,omitempty"`
	ManualURLs map[string]string `json:"manual_urls,omitempty"`
}

// TargetConfig names an endpoint in a config file; --target does the same
// on the command line.
type TargetConfig struct {
	Name  string `json:"name"`
	Type  string `json:"type,omitempty"`
	URL   string `json:"url"`
	API   string `json:"api,omitempty"`
	Model string `json:"model,omitempty"`
}

type Workload struct {
	SystemPrompt string   `json:"system_prompt,omitempty"`
	Prompts      []string `json:"prompts,omitempty"`
	// PromptFile holds one prompt per line, or JSONL objects with a
	// "prompt" string or a "messages" list.
	PromptFile string `json:"prompt_file,omitempty"`
	MaxTokens  int    `json:"max_tokens"`
	// InputTokens shapes every prompt to a token length in each engine's
	// own tokenizer instead of sending prompts: "512",
	// "uniform:256-1024", "normal:512,128", "lognormal:512,0.5".
	InputTokens string `json:"input_tokens,omitempty"`
	// OutputTokens draws each request's max_tokens the same way.
	OutputTokens string `json:"output_tokens,omitempty"`
	// Dataset samples each request from a file of real conversations
	// instead of the prompts: their first user turn, asking for as many
	// tokens as the dataset's own answer (unless output_tokens is set).
	Dataset *DatasetSpec `json:"dataset,omitempty"`
	// SharedPrefixTokens starts every shaped prompt with one of
	// PrefixGroups shared prefixes of that many tokens (chat template
	// included), the rest unique, so prefix caches are measured on
	// purpose.
	SharedPrefixTokens int     `json:"shared_prefix_tokens,omitempty"`
	PrefixGroups       int     `json:"prefix_groups,omitempty"`
	Temperature        float64 `json:"temperature"`
	Seed               *int64  `json:"seed,omitempty"`
	TimeoutSeconds     float64 `json:"timeout_seconds"`
	// UniquePrompts (default true) starts each user turn with a marker of
	// its own, so prefix caches cannot answer repeated prompts for free.
	UniquePrompts *bool `json:"unique_prompts,omitempty"`
	// SLO applies to every scenario without one of its own:
	// "ttft_p95=500ms,tpot_p95=50ms,error_rate=1%".
	SLO string `json:"slo,omitempty"`
}

type TestScenarios struct {
	TTFT      TTFTSuite  `json:"ttft"`
	LoadTests []LoadTest `json:"load_tests"`
	// Sweep runs the first load test at each level instead:
	// "rate=1,2,4,8" or "concurrency=1,2,4,8".
	Sweep string `json:"sweep,omitempty"`
}

type TTFTSuite struct {
	Enabled    bool    `json:"enabled"`
	Iterations int     `json:"iterations"`
	Warmup     int     `json:"warmup"`
	TargetMS   float64 `json:"target_ms"`
}

// LoadTest is one load scenario: closed loop when concurrent_users is set
// and arrival is closed, open loop (constant or poisson) when rate is set.
type LoadTest struct {
	Name            string   `json:"name"`
	Arrival         string   `json:"arrival,omitempty"`
	ConcurrentUsers int      `json:"concurrent_users,omitempty"`
	Rate            float64  `json:"rate,omitempty"`
	MaxConcurrency  int      `json:"max_concurrency,omitempty"`
	CapPolicy       string   `json:"cap_policy,omitempty"`
	DurationSeconds float64  `json:"duration_seconds,omitempty"`
	Requests        int      `json:"requests,omitempty"`
	ThinkTime       Duration `json:"think_time,omitempty"`
	WarmupSeconds   float64  `json:"warmup_seconds,omitempty"`
	TargetP95MS     float64  `json:"target_p95_ms,omitempty"`
	TargetMetric    string   `json:"target_metric,omitempty"`
	MaxTokens       int      `json:"max_tokens,omitempty"`
	// Turns, above 1, makes each user of a closed loop hold conversations
	// of that many turns: every turn sends the whole history so far.
	Turns int `json:"turns,omitempty"`
	// Trace replays a recorded arrival process (CSV or JSONL: Azure LLM
	// inference, Mooncake, or offset/input/output columns) open loop;
	// TraceSpeed divides its time (2: twice as fast).
	Trace      string  `json:"trace,omitempty"`
	TraceSpeed float64 `json:"trace_speed,omitempty"`
	// InputTokens and OutputTokens override the workload's for this test.
	InputTokens  string `json:"input_tokens,omitempty"`
	OutputTokens string `json:"output_tokens,omitempty"`
	// SLO overrides workload.slo for this scenario.
	SLO string `json:"slo,omitempty"`
}

// Duration reads "1.5s", "500ms" or a plain number of seconds.
type Duration struct{ time.Duration }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
				d.Duration = time.Duration(f * float64(time.Second))
				return nil
			}
			return fmt.Errorf("%q is not a duration; write it like 500ms or 2s", s)
		}
		d.Duration = v
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("%s is not a duration; write it like 500ms or 2s", string(b))
	}
	d.Duration = time.Duration(f * float64(time.Second))
	return nil
}

//go:embed presets/*.yaml
var presetFS embed.FS

// Presets lists the embedded preset names.
func Presets() []string {
	entries, _ := presetFS.ReadDir("presets")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// PresetYAML returns a preset's file as embedded.
func PresetYAML(name string) ([]byte, error) {
	b, err := presetFS.ReadFile("presets/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("unknown preset %q: use one of %s", name, strings.Join(Presets(), ", "))
	}
	return b, nil
}

// Default is the configuration before any preset or file.
func Default() Config {
	seed := int64(42)
	unique := true
	return Config{
		Benchmark: BenchmarkMeta{Name: "llmbench"},
		Workload: Workload{
			SystemPrompt: "You are a helpful assistant. Answer clearly and concisely.",
			Prompts: []string{
				"My deployment keeps crashing with CrashLoopBackOff. What should I check first?",
				"Review this Python function and suggest improvements:\n\ndef avg(xs):\n    t = 0\n    for x in xs: t += x\n    return t / len(xs)",
				"Write a short story opening about a lighthouse keeper who finds a message in a bottle.",
				"Explain microservices to a new engineer: what they are, and when not to use them.",
				"We are choosing a cloud provider for a mid-size SaaS product. What criteria matter most, and why?",
			},
			UniquePrompts:  &unique,
			MaxTokens:      128,
			Temperature:    0,
			Seed:           &seed,
			TimeoutSeconds: 120,
		},
		TestScenarios: TestScenarios{TTFT: TTFTSuite{Enabled: true, Iterations: 10, Warmup: 2, TargetMS: 100}},
	}
}

// MergeYAML overlays a YAML document on c. Unknown fields are errors that
// name the field, so a typo never silently falls back to a default.
func (c *Config) MergeYAML(source string, data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "error unmarshaling JSON: ")
		msg = strings.TrimPrefix(msg, "while decoding JSON: ")
		msg = strings.ReplaceAll(msg, "json: ", "")
		return fmt.Errorf("%s: %s", source, msg)
	}
	return nil
}

// LoadFile overlays a YAML file on c.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	return c.MergeYAML(path, b)
}

// YAML renders the configuration as YAML.
func (c Config) YAML() ([]byte, error) { return yaml.Marshal(c) }
