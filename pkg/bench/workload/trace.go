package workload

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// TraceEntry is one request of a trace: when it arrives, relative to the
// trace's first request, and its prompt and answer lengths (0: not given).
type TraceEntry struct {
	Offset time.Duration
	Input  int
	Output int
}

// Trace is a recorded arrival process to replay open loop (--trace).
type Trace struct {
	Path string `json:"path"`
	// Speed divides every offset: 2 replays twice as fast.
	Speed    float64 `json:"speed"`
	Requests int     `json:"requests"`
	// SpanS is the replay's length, first arrival to last, after Speed.
	SpanS   float64      `json:"span_s"`
	Entries []TraceEntry `json:"-"`
}

// MaxTraceEntries bounds a trace's length: a day of a busy service.
const MaxTraceEntries = 5_000_000

// The columns (CSV) or keys (JSONL) a trace may use, as the public traces
// name them: Azure LLM inference (TIMESTAMP, ContextTokens,
// GeneratedTokens), Mooncake (timestamp in ms, input_length,
// output_length), and plain names.
var (
	traceTimeKeys   = []string{"timestamp", "arrival_time", "arrival_s", "offset_s", "offset_ms", "time", "offset"}
	traceInputKeys  = []string{"contexttokens", "input_length", "input_tokens", "prompt_tokens", "context_tokens"}
	traceOutputKeys = []string{"generatedtokens", "output_length", "output_tokens", "completion_tokens", "generated_tokens"}
)

// LoadTrace reads a trace file (CSV with a header, or JSONL).
func LoadTrace(path string, speed float64) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	defer f.Close()
	return ReadTrace(f, path, speed)
}

// ReadTrace parses a trace; every problem names the file and line.
// Timestamps must not decrease: a trace is an arrival schedule.
func ReadTrace(r io.Reader, path string, speed float64) (*Trace, error) {
	if speed <= 0 || math.IsInf(speed, 0) || math.IsNaN(speed) {
		return nil, fmt.Errorf("trace speed %g (--trace-speed, trace_speed): use a factor > 0 (2 replays twice as fast)", speed)
	}
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := firstByte(br)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", path, err)
	}
	var raw []rawArrival
	if first == '{' {
		raw, err = traceJSONL(br, path)
	} else {
		raw, err = traceCSV(br, path)
	}
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("trace %s: no requests; give a CSV with a header (TIMESTAMP,ContextTokens,GeneratedTokens) or JSONL ({\"timestamp\": ms, \"input_length\": …, \"output_length\": …})", path)
	}
	t := &Trace{Path: path, Speed: speed, Requests: len(raw), Entries: make([]TraceEntry, len(raw))}
	for i, a := range raw {
		if i > 0 && a.at < raw[i-1].at {
			return nil, fmt.Errorf("trace %s line %d: timestamp %s is before the previous line's (%s); a trace's arrivals must not go back in time (sort it by time)",
				path, a.line, a.text, raw[i-1].text)
		}
		off := a.at - raw[0].at
		t.Entries[i] = TraceEntry{Offset: time.Duration(float64(off) / speed), Input: a.input, Output: a.output}
	}
	t.SpanS = t.Entries[len(t.Entries)-1].Offset.Seconds()
	return t, nil
}

type rawArrival struct {
	at            time.Duration // since an arbitrary origin
	input, output int
	line          int
	text          string // the timestamp as written
}

func traceCSV(br *bufio.Reader, path string) ([]rawArrival, error) {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trace %s line 1: %w", path, err)
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.ToLower(strings.TrimSpace(h))] = i
	}
	pick := func(keys []string) (string, int) {
		for _, k := range keys {
			if i, ok := cols[k]; ok {
				return k, i
			}
		}
		return "", -1
	}
	timeKey, ti := pick(traceTimeKeys)
	_, ii := pick(traceInputKeys)
	_, oi := pick(traceOutputKeys)
	if ti < 0 {
		return nil, fmt.Errorf("trace %s line 1: no arrival-time column in %q; name one TIMESTAMP (Azure), timestamp (ms, Mooncake), arrival_s or offset_ms", path, strings.Join(header, ","))
	}
	var out []rawArrival
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("trace %s: %w", path, err) // csv's errors name the line
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		field := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		a, err := arrival(timeKey, field(ti), field(ii), field(oi))
		if err != nil {
			return nil, fmt.Errorf("trace %s line %d: %w", path, line, err)
		}
		a.line = line
		out = append(out, a)
		if len(out) > MaxTraceEntries {
			return nil, fmt.Errorf("trace %s: more than %d requests; cut it to the window you want to replay", path, MaxTraceEntries)
		}
	}
	return out, nil
}

func traceJSONL(br *bufio.Reader, path string) ([]rawArrival, error) {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 1<<16), 16<<20)
	var out []rawArrival
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(line, &obj); err != nil {
			return nil, fmt.Errorf("trace %s line %d: not a JSON object: %w", path, n, err)
		}
		keys := map[string]json.RawMessage{}
		for k, v := range obj {
			keys[strings.ToLower(k)] = v
		}
		get := func(names []string) (string, string) {
			for _, k := range names {
				if v, ok := keys[k]; ok {
					var s string
					if json.Unmarshal(v, &s) == nil {
						return k, s
					}
					return k, string(v)
				}
			}
			return "", ""
		}
		timeKey, at := get(traceTimeKeys)
		if timeKey == "" {
			return nil, fmt.Errorf("trace %s line %d: no arrival time; give \"timestamp\" (ms, Mooncake), \"arrival_s\" or \"offset_ms\"", path, n)
		}
		_, in := get(traceInputKeys)
		_, outTok := get(traceOutputKeys)
		a, err := arrival(timeKey, at, in, outTok)
		if err != nil {
			return nil, fmt.Errorf("trace %s line %d: %w", path, n, err)
		}
		a.line = n
		out = append(out, a)
		if len(out) > MaxTraceEntries {
			return nil, fmt.Errorf("trace %s: more than %d requests; cut it to the window you want to replay", path, MaxTraceEntries)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("trace %s: %w", path, err)
	}
	return out, nil
}

// traceTimeLayouts are the date-times traces write: Azure's
// "2023-11-16 18:15:46.6805900", and RFC 3339.
var traceTimeLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", time.RFC3339Nano, "2006-01-02T15:04:05.999999999"}

// arrival reads one request: a number in the unit its column's name says
// (timestamp and offset_ms: milliseconds, as Mooncake writes; arrival_s,
// offset_s, arrival_time, time, offset: seconds) or a date-time.
func arrival(timeKey, at, in, out string) (rawArrival, error) {
	a := rawArrival{text: at}
	if at == "" {
		return a, fmt.Errorf("%s: empty", timeKey)
	}
	if v, err := strconv.ParseFloat(at, 64); err == nil {
		if v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || v > 1e15 {
			return a, fmt.Errorf("%s %q: not a time", timeKey, at)
		}
		unit := time.Second
		if timeKey == "timestamp" || timeKey == "offset_ms" {
			unit = time.Millisecond
		}
		a.at = time.Duration(v * float64(unit))
	} else {
		var t time.Time
		for _, layout := range traceTimeLayouts {
			if t, err = time.Parse(layout, at); err == nil {
				break
			}
		}
		if err != nil {
			return a, fmt.Errorf("%s %q: not a number or a date-time like 2023-11-16 18:15:46.68", timeKey, at)
		}
		a.at = time.Duration(t.UnixNano())
	}
	var err error
	if a.input, err = traceTokens(in, "input tokens"); err != nil {
		return a, err
	}
	if a.output, err = traceTokens(out, "output tokens"); err != nil {
		return a, err
	}
	return a, nil
}

func traceTokens(s, what string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) {
			return 0, fmt.Errorf("%s %q: not a whole number", what, s)
		}
		n = int(f)
	}
	if n < 0 || n > MaxShapedTokens {
		return 0, fmt.Errorf("%s %d: use 0 to %d", what, n, MaxShapedTokens)
	}
	return n, nil
}
