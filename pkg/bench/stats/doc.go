// Package stats holds the statistics every aggregate is built from:
// percentiles and their confidence intervals (quantile.go), the mergeable
// sample that keeps memory flat however many requests a run has
// (sample.go), descriptive statistics (stats.go) and the Mann-Whitney rank
// test (ranktest.go). It knows nothing of engines, records or HTTP, and
// imports nothing of this module: add a statistic here when it is a pure
// function of numbers.
package stats
