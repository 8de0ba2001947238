package server_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/server"
)

// TestMetricsReadme keeps the README's metrics table and example alerts
// true to what the daemon serves: a metric renamed or dropped must not
// leave an alert that never fires, and a metric added must be told.
func TestMetricsReadme(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Monitoring: status and metrics\n")
	if !ok {
		t.Fatal("README.md has no section \"Monitoring: status and metrics\"")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	documented := map[string]bool{}
	for _, name := range regexp.MustCompile(`\bbmsched_[a-z_]+[a-z]`).FindAllString(section, -1) {
		documented[name] = true
	}

	root, _ := newRoot(t, t.TempDir())
	d := startDaemon(t, root, server.Config{})
	served := map[string]bool{}
	for series := range scrape(t, socketHTTP(d.sock), "http://bmsched/metrics") {
		name, _, _ := strings.Cut(series, "{")
		if strings.HasPrefix(name, "bmsched_") {
			served[name] = true
			// A histogram is documented by its own name.
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok && strings.HasSuffix(base, "_seconds") {
					served[base] = true
					delete(served, name)
				}
			}
		}
	}
	for name := range documented {
		if !served[name] {
			t.Errorf("README.md names %s, which the daemon does not serve", name)
		}
	}
	for name := range served {
		if !documented[name] {
			t.Errorf("the daemon serves %s, which README.md's monitoring section does not describe", name)
		}
	}
}
