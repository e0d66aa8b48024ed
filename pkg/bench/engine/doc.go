// Package engine is the only place that knows the engines' bytes: how a
// target is addressed (target.go), how a neutral request becomes each
// API's HTTP body (request.go), how a stream is framed (framing.go, SSE or
// NDJSON) and parsed into events (parser.go, parse_openai.go, parse_tgi.go,
// parse_ollama.go), and the streaming client that stamps each socket read
// (arrival.go, transport.go) and folds one request's events into its flat
// Record (client.go, stream.go, record.go). Probes (probe.go) ask an engine
// what it serves, CountTokens (tokenize.go) asks its own tokenizer, and
// capture.go keeps raw bytes for `inspect --raw`.
//
// A fourth engine's protocol goes here: an EngineType and API in target.go,
// its body in request.go, a parser beside the others. Nothing in this
// package knows load, statistics or Kubernetes.
package engine
