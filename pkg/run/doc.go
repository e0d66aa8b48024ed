// Package run is one benchmark run, start to finish, as a library: it
// creates the run folder, writes the manifest, appends every finished
// request to the journal while folding it into the summarizer, drives
// the load (and the capacity search), then finishes the manifest and
// writes summary.json. Commands choose the engines before it and render
// its result after it; `kubectl llmbench run` is flags → Config → Run →
// reports.
package run
