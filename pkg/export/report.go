package export

// writeReports writes report.md with charts/*.png and report.html into
// dir, drawing the charts once for both. A chart that failed is reported
// after both are written without it.
func writeReports(dir string, run *Run) error {
	charts, chartErr := runCharts(run)
	if err := writeMarkdown(dir, run, charts); err != nil {
		return err
	}
	if err := writeHTML(dir, run, charts); err != nil {
		return err
	}
	return chartErr
}
