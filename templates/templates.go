// Package templates holds the report templates and stylesheet, embedded so
// the binary writes reports without any file beside it. It lives at the
// repository root because go:embed cannot reach parent folders.
package templates

import "embed"

// metrics.md is a copy of docs/metrics.md: the report's definitions block
// must say exactly what the docs say. pkg/export's tests fail when the two
// drift; `go generate ./templates` refreshes the copy.
//
//go:generate cp ../docs/metrics.md metrics.md

// FS holds report.md.tmpl (text/template, Markdown), report.html.tmpl
// (html/template page around the rendered Markdown), report.css,
// metrics.md, report.js (the page's interactive charts) and the uPlot it
// draws them with (vendor/uplot, see its README.md).
//
//go:embed *.tmpl *.css *.md *.js vendor/uplot/uPlot.iife.min.js vendor/uplot/uPlot.min.css vendor/uplot/LICENSE
var FS embed.FS

// Scenarios holds scenarios/*.yaml: the conversations of demo, race,
// inspect and conversation (workload.LoadStories reads them).
//
//go:embed scenarios/*.yaml
var Scenarios embed.FS
