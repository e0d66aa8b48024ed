// Package metric is the one description of each per-request metric: its
// name as the journal, the summaries and every export spell it (ttft_ms,
// tpot_ms, …), its label and unit, which way is better, and how to read
// it from a Record (registry.go). One name, one meaning: docs/metrics.md
// defines each. A new metric is one entry in Defs.
package metric
