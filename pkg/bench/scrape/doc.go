// Package scrape reads the engines' own Prometheus metrics during a run:
// /metrics in the text exposition format (vLLM's and TGI's, with or without
// _created series, summaries, missing HELP) parsed with
// prometheus/common/expfmt into flat samples, one per series (a
// histogram's buckets, sum and count each a sample), and a scraper that
// takes them before the first request, at an interval, and after the last.
// A scrape that fails is recorded, never fatal.
package scrape
