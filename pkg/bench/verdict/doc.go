// Package verdict judges across groups: which engine was fastest and
// whether by more than noise (verdict.go), pairwise rank tests with Holm's
// correction (comparison.go), the weighted ranking (ranking.go), what a
// sweep says about capacity (capacity.go) and what changed between two
// runs (regression.go). Summary, the run-level aggregate every export
// renders, is built here by SummaryOf from a summary.Summarizer.
package verdict
