package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["golden"] = cmdGolden
}

// golden stdout|stderr FILE: compare the last command's output with FILE
// (a file of the script's archive) once what varies from run to run is
// replaced by placeholders: the paths of the script ($MACHINES, $SCRATCH,
// $WORK, $SOCK), UUIDs (<UUID>), times in RFC 3339 and in the tables'
// local form (<TIME>), durations that count down or up (<DUR>), and pids
// of the script's processes ("pid": <PID>), and a plain volume's
// filesystem type (<FSTYPE>), an operator command's list of events
// ([<SEQ>...]), the counters of status (<N>) and the Go version (<GO>);
// runs of spaces between table cells become
// two. Everything else, the names
// and the order of fields, must match: a change of the contract shows as
// a diff here. With BMSCHED_GOLDEN_OUT=DIR set, it writes the normalized
// output to DIR/DRIVER/FILE instead, to make or update golden files.
func cmdGolden(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 || (args[0] != "stdout" && args[0] != "stderr") {
		ts.Fatalf("usage: golden stdout|stderr FILE")
	}
	got := normalize(ts, ts.ReadFile(args[0]))
	if dir := os.Getenv("BMSCHED_GOLDEN_OUT"); dir != "" {
		// Writing golden files: the output goes to DIR/DRIVER/FILE for
		// the archive, and nothing is compared.
		out := filepath.Join(dir, ts.Getenv("DRIVER"), args[1])
		ts.Check(os.MkdirAll(filepath.Dir(out), 0o755))
		ts.Check(os.WriteFile(out, []byte(got), 0o644))
		return
	}
	want := ts.ReadFile(args[1])
	if got == want {
		return
	}
	ts.Logf("%s, normalized:\n%s", args[0], got)
	ts.Fatalf("%s differs from %s:\n%s", args[0], args[1], lineDiff(want, got))
}

var (
	uuidRE    = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	rfc3339RE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	localRE   = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?`)
	pidRE     = regexp.MustCompile(`"(pid|client_pid)": [1-9]\d*`)
	durRE     = regexp.MustCompile(`\b(\d+h)?(\d+m)?\d+(\.\d+)?(s|ms)\b`)
	gapRE     = regexp.MustCompile(`(\S)  +`)
	eventsRE  = regexp.MustCompile(`"events": \[[\d\s,]*\]`)
	countRE   = regexp.MustCompile(`"(uptime_seconds|duration_seconds|size_bytes|commits|events|watches|rescans)": [0-9.e+-]+`)
	goRE      = regexp.MustCompile(`"go": "go[^"]*"`)
	startedRE = regexp.MustCompile(`started \(pid \d+\)`)
	fsTypeRE  = regexp.MustCompile(`"type": "[a-z0-9]+"`)
)

func normalize(ts *testscript.TestScript, s string) string {
	// Longest first: $MACHINES and $SCRATCH lie under $WORK on plain
	// directories, and under its loop mount on btrfs.
	vars := []string{"MACHINES", "SCRATCH", "WORK", "SOCK"}
	sort.SliceStable(vars, func(i, j int) bool { return len(ts.Getenv(vars[i])) > len(ts.Getenv(vars[j])) })
	for _, v := range vars {
		if p := ts.Getenv(v); p != "" {
			s = strings.ReplaceAll(s, p, "$"+v)
		}
	}
	s = uuidRE.ReplaceAllString(s, "<UUID>")
	s = rfc3339RE.ReplaceAllString(s, "<TIME>")
	s = localRE.ReplaceAllString(s, "<TIME>")
	s = pidRE.ReplaceAllString(s, `"$1": <PID>`)
	s = durRE.ReplaceAllString(s, "<DUR>")
	// The watcher records its events of a command's changes while the
	// command runs or just after: how many a result lists varies.
	s = eventsRE.ReplaceAllString(s, `"events": [<SEQ>...]`)
	// What the daemon counts as it goes, and the toolchain's version.
	s = countRE.ReplaceAllString(s, `"$1": <N>`)
	s = goRE.ReplaceAllString(s, `"go": "<GO>"`)
	s = startedRE.ReplaceAllString(s, "started (pid <PID>)")
	if ts.Getenv("DRIVER") == "plain" {
		// A plain volume's filesystem is whatever the host's is.
		s = fsTypeRE.ReplaceAllString(s, `"type": "<FSTYPE>"`)
	}
	// The tables' columns are as wide as what the placeholders replaced:
	// the gaps between cells, not their width, are compared.
	return gapRE.ReplaceAllString(s, "$1  ")
}

// lineDiff lists the lines of want and got that differ, by position.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}
