// Package reconcile sets the engine's own account of a run beside the
// client's. From the scrapes of an engine's /metrics that bound each
// scenario (package scrape takes them at its start and end), it takes the
// histogram and counter deltas over the measured window only, reads the
// server's TTFT, queue, prefill, decode, inter-token and end-to-end times
// from them (means exact from _sum/_count, percentiles interpolated from
// the buckets), and puts them beside the same window's client records:
// the residual, client minus server, is what the network, a tunnel and
// the client add. It also says where the client's TTFT went and what the
// engine's gauges (waiting requests, KV-cache usage) and counters
// (preemptions, prefix-cache hits) saw.
package reconcile
