// Package metric names the per-request metrics as the journal, the
// summaries and every export spell them (ttft_ms, tpot_ms, …). One name,
// one meaning: docs/metrics.md defines each.
package metric
