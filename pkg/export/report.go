package export

// WriteReports writes report.md with charts/*.png and report.html into
// dir, drawing the charts once for both.
func WriteReports(dir string, run *Run) error {
	charts, err := Charts(run)
	if err != nil {
		return err
	}
	if err := writeMarkdown(dir, run, charts); err != nil {
		return err
	}
	return writeHTML(dir, run, charts)
}
