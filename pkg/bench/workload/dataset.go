package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// DatasetSpec is a file of real conversations to sample prompts from
// (workload.dataset, --dataset).
type DatasetSpec struct {
	Path string `json:"path"`
	// Format is auto (the default: read from the content), sharegpt
	// (a JSON array, or JSONL, of {"conversations": [{"from", "value"}]}),
	// messages (JSONL of {"messages": [{"role", "content"}]} or
	// {"prompt": …}) or prompts (one prompt per line).
	Format string `json:"format,omitempty"`
	// Conversations whose first prompt or reference answer fall outside
	// these bounds (estimated tokens) are left out; 0 is no bound.
	MinInputTokens  int `json:"min_input_tokens,omitempty"`
	MaxInputTokens  int `json:"max_input_tokens,omitempty"`
	MinOutputTokens int `json:"min_output_tokens,omitempty"`
	MaxOutputTokens int `json:"max_output_tokens,omitempty"`
}

// Dataset formats.
const (
	DatasetAuto     = "auto"
	DatasetShareGPT = "sharegpt"
	DatasetMessages = "messages"
	DatasetPrompts  = "prompts"
)

// MaxDatasetEntries bounds what a dataset keeps in memory: beyond it, a
// seeded uniform sample of this many entries stands for the file.
const MaxDatasetEntries = 200_000

// DatasetEntry is one conversation's first request: the messages up to
// and including the first user turn, and the length of the answer the
// dataset gives for it (0 when it gives none).
type DatasetEntry struct {
	Messages []engine.Message
	// InputTokens and OutputTokens are estimates, about four bytes a
	// token, the same for every engine: the engines' own counts are in
	// the journal.
	InputTokens  int
	OutputTokens int
	// FollowUps are the conversation's later user turns, in order: what a
	// multi-turn scenario (--turns) says next.
	FollowUps []string
	// Record is where it came from: "line 12" or "record 12".
	Record string
}

// Dataset is what a dataset file held, after the filters.
type Dataset struct {
	Path    string         `json:"path"`
	Format  string         `json:"format"`
	Read    int            `json:"records_read"`
	Kept    int            `json:"records_kept"`
	Skipped map[string]int `json:"records_skipped,omitempty"` // why → how many
	// Sampled is true when more than MaxDatasetEntries passed the
	// filters and a seeded sample of them was kept.
	Sampled bool           `json:"sampled,omitempty"`
	Entries []DatasetEntry `json:"-"`
}

// EstimateTokens is the dataset's local token estimate: about four bytes
// a token, as byte-level BPE tokenizers average on English prose.
func EstimateTokens(s string) int { return (len(s) + 3) / 4 }

// LoadDataset reads and filters a dataset file; every problem names the
// file and the line or record.
func LoadDataset(spec DatasetSpec, seed int64) (*Dataset, error) {
	f, err := os.Open(spec.Path)
	if err != nil {
		return nil, fmt.Errorf("workload.dataset (--dataset): %w", err)
	}
	defer f.Close()
	ds, err := ReadDataset(f, spec, seed)
	if err != nil {
		return nil, err
	}
	if len(ds.Entries) == 0 {
		why := "it holds no conversation"
		if ds.Read > 0 {
			why = fmt.Sprintf("none of its %d records passed (%s)", ds.Read, skippedText(ds.Skipped))
		}
		return nil, fmt.Errorf("dataset %s: %s; check the file and the length filters", spec.Path, why)
	}
	return ds, nil
}

func skippedText(m map[string]int) string {
	var parts []string
	for _, why := range []string{"no user turn", "empty prompt", "input below min_input_tokens", "input above max_input_tokens",
		"output below min_output_tokens", "output above max_output_tokens"} {
		if n := m[why]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, why))
		}
	}
	return strings.Join(parts, ", ")
}

// ReadDataset parses a dataset from r; spec.Path names it in errors.
func ReadDataset(r io.Reader, spec DatasetSpec, seed int64) (*Dataset, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	format := strings.ToLower(strings.TrimSpace(spec.Format))
	if format == "" {
		format = DatasetAuto
	}
	first, err := firstByte(br)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", spec.Path, err)
	}
	if format == DatasetAuto {
		switch first {
		case '[':
			format = DatasetShareGPT
		case '{':
			format = DatasetMessages // per line: messages, prompt or conversations
		default:
			format = DatasetPrompts
		}
	}
	ds := &Dataset{Path: spec.Path, Format: format, Skipped: map[string]int{}}
	keep := keeper(ds, spec, seed)
	switch format {
	case DatasetShareGPT:
		if first == '[' {
			err = readJSONArray(br, spec.Path, keep)
		} else {
			err = readJSONLines(br, spec.Path, keep)
		}
	case DatasetMessages:
		err = readJSONLines(br, spec.Path, keep)
	case DatasetPrompts:
		err = readPromptLines(br, spec.Path, keep)
	default:
		return nil, fmt.Errorf("workload.dataset.format %q: use auto, sharegpt, messages or prompts", spec.Format)
	}
	if err != nil {
		return nil, err
	}
	ds.Kept = len(ds.Entries)
	if len(ds.Skipped) == 0 {
		ds.Skipped = nil
	}
	return ds, nil
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case 0xEF: // a UTF-8 byte-order mark
			if next, _ := br.Peek(2); bytes.Equal(next, []byte{0xBB, 0xBF}) {
				_, _ = br.Discard(2)
				continue
			}
		}
		return b, br.UnreadByte()
	}
}

// keeper filters entries and keeps at most MaxDatasetEntries of them,
// a seeded reservoir sample beyond that.
func keeper(ds *Dataset, spec DatasetSpec, seed int64) func(DatasetEntry, string) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x64617461))
	passed := 0
	return func(e DatasetEntry, why string) {
		ds.Read++
		switch {
		case why != "":
		case spec.MinInputTokens > 0 && e.InputTokens < spec.MinInputTokens:
			why = "input below min_input_tokens"
		case spec.MaxInputTokens > 0 && e.InputTokens > spec.MaxInputTokens:
			why = "input above max_input_tokens"
		case spec.MinOutputTokens > 0 && e.OutputTokens < spec.MinOutputTokens:
			why = "output below min_output_tokens"
		case spec.MaxOutputTokens > 0 && e.OutputTokens > spec.MaxOutputTokens:
			why = "output above max_output_tokens"
		}
		if why != "" {
			ds.Skipped[why]++
			return
		}
		passed++
		if len(ds.Entries) < MaxDatasetEntries {
			ds.Entries = append(ds.Entries, e)
			return
		}
		ds.Sampled = true
		if j := rng.IntN(passed); j < MaxDatasetEntries {
			ds.Entries[j] = e
		}
	}
}

// turn is one message of a conversation in either dialect.
type turn struct {
	From    string          `json:"from"`
	Value   *string         `json:"value"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// record is one conversation in any of the accepted shapes.
type record struct {
	Conversations []turn  `json:"conversations"`
	Messages      []turn  `json:"messages"`
	Prompt        *string `json:"prompt"`
	// OutputTokens, when a record gives it, is the answer's length.
	OutputTokens *int `json:"output_tokens"`
}

var shareGPTRoles = map[string]string{"human": "user", "user": "user", "gpt": "assistant", "chatgpt": "assistant", "bing": "assistant",
	"bard": "assistant", "assistant": "assistant", "model": "assistant", "system": "system"}

// entry turns a record into the first request of its conversation.
func (rec record) entry(where string) (DatasetEntry, string, error) {
	e := DatasetEntry{Record: where}
	var turns []engine.Message
	switch {
	case rec.Conversations != nil:
		for i, t := range rec.Conversations {
			role, ok := shareGPTRoles[strings.ToLower(t.From)]
			if !ok {
				return e, "", fmt.Errorf("conversations[%d].from %q: want human, gpt or system", i, t.From)
			}
			if t.Value == nil {
				return e, "", fmt.Errorf("conversations[%d]: no \"value\"", i)
			}
			turns = append(turns, engine.Message{Role: role, Content: *t.Value})
		}
	case rec.Messages != nil:
		for i, t := range rec.Messages {
			role := strings.ToLower(t.Role)
			if role != "system" && role != "user" && role != "assistant" {
				return e, "", fmt.Errorf("messages[%d].role %q: want system, user or assistant", i, t.Role)
			}
			text, err := contentText(t.Content)
			if err != nil {
				return e, "", fmt.Errorf("messages[%d].content: %w", i, err)
			}
			turns = append(turns, engine.Message{Role: role, Content: text})
		}
	case rec.Prompt != nil:
		turns = []engine.Message{{Role: "user", Content: *rec.Prompt}}
	default:
		return e, "", errors.New(`give "conversations" (ShareGPT), "messages" or "prompt"`)
	}
	user := -1
	for i, t := range turns {
		if t.Role == "user" {
			user = i
			break
		}
	}
	if user < 0 {
		return e, "no user turn", nil
	}
	if strings.TrimSpace(turns[user].Content) == "" {
		return e, "empty prompt", nil
	}
	e.Messages = turns[:user+1]
	for _, t := range turns[user+1:] {
		if t.Role == "user" && strings.TrimSpace(t.Content) != "" {
			e.FollowUps = append(e.FollowUps, t.Content)
		}
	}
	for _, m := range e.Messages {
		e.InputTokens += EstimateTokens(m.Content)
	}
	if user+1 < len(turns) && turns[user+1].Role == "assistant" {
		e.OutputTokens = EstimateTokens(turns[user+1].Content)
	}
	if rec.OutputTokens != nil && *rec.OutputTokens > 0 {
		e.OutputTokens = *rec.OutputTokens
	}
	return e, "", nil
}

// contentText reads an OpenAI message content: a string, or a list of
// parts whose text parts are joined.
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("want a string or a list of {\"type\": \"text\", \"text\": …} parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" || p.Type == "" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

func readJSONArray(br *bufio.Reader, path string, keep func(DatasetEntry, string)) error {
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("dataset %s: not a JSON array: %w", path, err)
	}
	for i := 0; dec.More(); i++ {
		var rec record
		if err := dec.Decode(&rec); err != nil {
			return fmt.Errorf("dataset %s record %d (byte %d): %w; each record is {\"conversations\": [{\"from\": \"human\", \"value\": …}, …]}",
				path, i, dec.InputOffset(), err)
		}
		e, skip, err := rec.entry("record " + strconv.Itoa(i))
		if err != nil {
			return fmt.Errorf("dataset %s record %d: %w", path, i, err)
		}
		keep(e, skip)
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("dataset %s: the JSON array does not end (byte %d): %w", path, dec.InputOffset(), err)
	}
	return nil
}

func readJSONLines(br *bufio.Reader, path string, keep func(DatasetEntry, string)) error {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec record
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("dataset %s line %d: not a JSON object: %w", path, n, err)
		}
		e, skip, err := rec.entry("line " + strconv.Itoa(n))
		if err != nil {
			return fmt.Errorf("dataset %s line %d: %w", path, n, err)
		}
		keep(e, skip)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("dataset %s: %w (a line longer than 64 MiB?)", path, err)
	}
	return nil
}

func readPromptLines(br *bufio.Reader, path string, keep func(DatasetEntry, string)) error {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		keep(DatasetEntry{Messages: []engine.Message{{Role: "user", Content: line}}, InputTokens: EstimateTokens(line), Record: "line " + strconv.Itoa(n)}, "")
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("dataset %s: %w", path, err)
	}
	return nil
}

// ParseDatasetFilter reads "input=16-2048,output=1-1024" (either bound
// may be left out: "input=-2048", "output=8-") into spec's bounds.
func ParseDatasetFilter(s, where string, spec *DatasetSpec) error {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		lo, hi, ok2 := strings.Cut(val, "-")
		var minP, maxP *int
		switch strings.TrimSpace(key) {
		case "input":
			minP, maxP = &spec.MinInputTokens, &spec.MaxInputTokens
		case "output":
			minP, maxP = &spec.MinOutputTokens, &spec.MaxOutputTokens
		}
		if !ok || !ok2 || minP == nil {
			return fmt.Errorf("%s: %q: write input=MIN-MAX and/or output=MIN-MAX in estimated tokens, e.g. input=16-2048,output=1-1024", where, part)
		}
		for _, b := range []struct {
			text string
			dst  *int
		}{{lo, minP}, {hi, maxP}} {
			b.text = strings.TrimSpace(b.text)
			if b.text == "" {
				*b.dst = 0
				continue
			}
			n, err := strconv.Atoi(b.text)
			if err != nil || n < 0 {
				return fmt.Errorf("%s: %q in %q is not a number of tokens", where, b.text, part)
			}
			*b.dst = n
		}
		if *maxP > 0 && *minP > *maxP {
			return fmt.Errorf("%s: %q: the minimum is above the maximum", where, part)
		}
	}
	return nil
}
