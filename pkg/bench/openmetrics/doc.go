// Package openmetrics exposes a run's own measurements as Prometheus
// metrics while it runs, so a Prometheus and Grafana beside the engines
// see the client's TTFT, ITL and error rate next to the engines' own
// /metrics (dashboards/kubectl-llmbench.json reads both).
//
// The Exporter is one more sink beside the journal and the summarizer:
// it reads finished Records and never feeds anything back. It keeps the
// summarizer's rules so the two cannot tell different stories: warm-up
// requests are counted in llmbench_requests_total (phase="warmup") and
// nowhere else; latency histograms take measured, successful, warm
// requests (a cold start is a model load, not the engine's steady state);
// schedule lag takes every request that was sent; tokens count succeeded
// requests, as the summary's throughput does. Values are read through
// pkg/bench/metric's Defs, the one place that says which field a metric is.
//
// Times are exposed in seconds, as Prometheus names them; Records hold
// milliseconds.
package openmetrics
