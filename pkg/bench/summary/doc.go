// Package summary folds finished Records, one at a time as they arrive,
// into one Group per engine × scenario (summarizer.go): counts, errors by
// class, window and throughput, a mergeable sample per metric and its
// statistics, the scenario's goal and SLO judged per group (slo_result.go),
// cold starts and the client/server reconciliation (summary_server.go).
// Memory follows engines × scenarios × metrics, never the request count.
// Verdicts across groups live in package verdict, which reads the groups
// and their samples through Summarizer.Inspect.
package summary
