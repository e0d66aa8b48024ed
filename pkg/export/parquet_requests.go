package export

import (
	"errors"
	"io"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// requestRow is one row of requests.parquet and requests.csv: the journal
// record with typed columns, minus the per-chunk arrays (chunks.parquet).
// Field order is column order and follows the journal; the tags are the
// column names in both formats. Low-cardinality strings are dictionary
// encoded. docs/parquet-schema.md documents every column: change both.
type requestRow struct {
	RunID       string `parquet:"run_id,dict"`
	Engine      string `parquet:"engine,dict"`
	EngineType  string `parquet:"engine_type,dict"`
	API         string `parquet:"api,dict"`
	Model       string `parquet:"model,dict"`
	Suite       string `parquet:"suite,dict"`
	Scenario    string `parquet:"scenario,dict"`
	Phase       string `parquet:"phase,dict"`
	RequestID   int64  `parquet:"request_id"`
	Worker      int64  `parquet:"worker"`
	LoadWorker  *int64 `parquet:"load_worker,optional"`
	LoadNode    string `parquet:"load_node,dict"`
	Sequence    int64  `parquet:"sequence"`
	PromptIndex int64  `parquet:"prompt_index"`

	IntendedStartTS     time.Time `parquet:"intended_start_ts,timestamp(nanosecond:utc)"`
	StartTS             time.Time `parquet:"start_ts,timestamp(nanosecond:utc)"`
	EndTS               time.Time `parquet:"end_ts,timestamp(nanosecond:utc)"`
	IntendedStartUnixNS int64     `parquet:"intended_start_unix_ns"`
	StartUnixNS         int64     `parquet:"start_unix_ns"`
	EndUnixNS           int64     `parquet:"end_unix_ns"`
	ScheduleLagMS       float64   `parquet:"schedule_lag_ms"`
	ClientQueued        bool      `parquet:"client_queued"`

	TTFBMS           *float64 `parquet:"ttfb_ms,optional"`
	TTFTMS           *float64 `parquet:"ttft_ms,optional"`
	TTFTContentMS    *float64 `parquet:"ttft_content_ms,optional"`
	TPOTMS           *float64 `parquet:"tpot_ms,optional"`
	NTPOTMS          *float64 `parquet:"ntpot_ms,optional"`
	E2EMS            *float64 `parquet:"e2e_ms,optional"`
	OutputTokensPerS *float64 `parquet:"output_tokens_per_s,optional"`

	PromptTokens          int64  `parquet:"prompt_tokens"`
	RequestedPromptTokens int64  `parquet:"requested_prompt_tokens"`
	PromptMismatch        bool   `parquet:"prompt_mismatch"`
	Conversation          int64  `parquet:"conversation"`
	Turn                  int64  `parquet:"turn"`
	SharedPrefixTokens    int64  `parquet:"shared_prefix_tokens"`
	PrefixGroup           *int64 `parquet:"prefix_group,optional"`
	CachedTokens          *int64 `parquet:"cached_tokens,optional"`
	CachedTokensSource    string `parquet:"cached_tokens_source,dict"`
	OutputTokens          int64  `parquet:"output_tokens"`
	OutputTokensSource    string `parquet:"output_tokens_source,dict"`
	RequestedOutputTokens int64  `parquet:"requested_output_tokens"`
	OutputMismatch        bool   `parquet:"output_mismatch"`
	Chunks                int64  `parquet:"chunks"`
	ReasoningChunks       int64  `parquet:"reasoning_chunks"`
	FinishReason          string `parquet:"finish_reason,dict"`
	ResponseBytes         int64  `parquet:"response_bytes"`

	ServerTotalMS          *float64 `parquet:"server_total_ms,optional"`
	ServerLoadMS           *float64 `parquet:"server_load_ms,optional"`
	ServerPromptEvalMS     *float64 `parquet:"server_prompt_eval_ms,optional"`
	ServerEvalMS           *float64 `parquet:"server_eval_ms,optional"`
	ColdStart              bool     `parquet:"cold_start"`
	ServerTTFTMS           *float64 `parquet:"server_ttft_ms,optional"`
	TTFTResidualMS         *float64 `parquet:"ttft_residual_ms,optional"`
	ServerWaitMS           *float64 `parquet:"server_wait_ms,optional"`
	ServerDecodeTokensPerS *float64 `parquet:"server_decode_tokens_per_s,optional"`
	ClientDecodeTokensPerS *float64 `parquet:"client_decode_tokens_per_s,optional"`

	OK         bool   `parquet:"ok"`
	HTTPStatus int64  `parquet:"http_status"`
	ErrorClass string `parquet:"error_class,dict"`
	// Error messages repeat but are not a small set; zstd does better on
	// them than a dictionary that could grow without bound.
	Error string `parquet:"error"`
}

// utc turns a journal stamp into a time that formats the same on every
// machine, whatever its local zone.
func utc(unixNS int64) time.Time { return time.Unix(0, unixNS).UTC() }

func int64Ptr(v *int) *int64 {
	if v == nil {
		return nil
	}
	n := int64(*v)
	return &n
}

func requestRowOf(r *engine.Record) requestRow {
	return requestRow{
		RunID: r.RunID, Engine: r.Engine, EngineType: string(r.EngineType), API: string(r.API),
		Model: r.Model, Suite: r.Suite, Scenario: r.Scenario, Phase: string(r.Phase),
		RequestID: r.RequestID, Worker: int64(r.Worker), LoadWorker: int64Ptr(r.LoadWorker), LoadNode: r.LoadNode, Sequence: r.Sequence, PromptIndex: int64(r.PromptIndex),

		IntendedStartTS: utc(r.IntendedStartUnixNS), StartTS: utc(r.StartUnixNS), EndTS: utc(r.EndUnixNS),
		IntendedStartUnixNS: r.IntendedStartUnixNS, StartUnixNS: r.StartUnixNS, EndUnixNS: r.EndUnixNS,
		ScheduleLagMS: r.ScheduleLagMS, ClientQueued: r.ClientQueued,

		TTFBMS: r.TTFBMS, TTFTMS: r.TTFTMS, TTFTContentMS: r.TTFTContentMS, TPOTMS: r.TPOTMS,
		NTPOTMS: r.NTPOTMS, E2EMS: r.E2EMS, OutputTokensPerS: r.OutputTokensPerS,

		PromptTokens: int64(r.PromptTokens), RequestedPromptTokens: int64(r.RequestedPromptTokens),
		PromptMismatch: r.PromptMismatch, Conversation: r.Conversation, Turn: int64(r.Turn), SharedPrefixTokens: int64(r.SharedPrefixTokens), PrefixGroup: int64Ptr(r.PrefixGroup),
		CachedTokens: int64Ptr(r.CachedTokens), CachedTokensSource: r.CachedTokensSource, OutputTokens: int64(r.OutputTokens),
		OutputTokensSource: r.OutputTokensSource, RequestedOutputTokens: int64(r.RequestedOutputTokens),
		OutputMismatch: r.OutputMismatch, Chunks: int64(r.Chunks), ReasoningChunks: int64(r.ReasoningChunks),
		FinishReason: r.FinishReason, ResponseBytes: r.ResponseBytes,

		ServerTotalMS: r.ServerTotalMS, ServerLoadMS: r.ServerLoadMS, ServerPromptEvalMS: r.ServerPromptEvalMS,
		ServerEvalMS: r.ServerEvalMS, ColdStart: r.ColdStart, ServerTTFTMS: r.ServerTTFTMS,
		TTFTResidualMS: r.TTFTResidualMS, ServerWaitMS: r.ServerWaitMS,
		ServerDecodeTokensPerS: r.ServerDecodeTokensPerS, ClientDecodeTokensPerS: r.ClientDecodeTokensPerS,

		OK: r.OK, HTTPStatus: int64(r.HTTPStatus), ErrorClass: r.ErrorClass, Error: r.Error,
	}
}

// writeRequestsParquet writes requests.parquet, one row per record, in
// row groups of 64k rows as the records come.
func writeRequestsParquet(w io.Writer, meta meta, next nextRecord) error {
	rows := newRowWriter[requestRow](w, meta)
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			return rows.close()
		}
		if err != nil {
			return err
		}
		if err := rows.add(requestRowOf(rec)); err != nil {
			return err
		}
	}
}
