package run

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

var unsafeName = regexp.MustCompile(`[^a-z0-9_-]+`)

// createFolder makes OUTPUT_DIR/test_{name}_{YYYYMMDD}_{HHMMSS}. Two runs
// in the same second get a numeric suffix rather than sharing a folder.
func createFolder(outputDir, name string, at time.Time) (string, string, error) {
	slug := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if slug == "" {
		slug = "llmbench"
	}
	base := fmt.Sprintf("test_%s_%s", slug, at.Format("20060102_150405"))
	if err := os.MkdirAll(outputDir, 0o755); err != nil {
		return "", "", fmt.Errorf("--output-dir %s: %w", outputDir, err)
	}
	id := base
	for i := 2; ; i++ {
		dir := filepath.Join(outputDir, id)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, id, nil
		}
		if !os.IsExist(err) || i > 100 {
			return "", "", fmt.Errorf("creating run folder %s: %w", dir, err)
		}
		id = fmt.Sprintf("%s_%d", base, i)
	}
}
