package daemoncli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/db"
)

// checkResult is what `db check` found; with --json it is printed as is.
type checkResult struct {
	DB            string   `json:"db"`
	OK            bool     `json:"ok"`
	SchemaVersion uint64   `json:"schema_version"`
	Warning       string   `json:"warning,omitempty"` // the file fell back to an older commit
	Problems      []string `json:"problems"`
}

// printCheck prints the outcome; a warning is printed before the check,
// so that it is seen even when the file is found damaged.
func printCheck(c *cli.Context, res checkResult) error {
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	for _, p := range res.Problems {
		fmt.Fprintln(c.App.Writer, "problem:", p)
	}
	if res.OK {
		fmt.Fprintf(c.App.Writer, "%s: ok (schema version %d)\n", res.DB, res.SchemaVersion)
	}
	return nil
}

// dbResult is what `db migrate` and `db compact` print with --json.
type dbResult struct {
	DB            string `json:"db"`
	SchemaVersion uint64 `json:"schema_version,omitempty"`
	SizeBefore    *int64 `json:"size_before,omitempty"`
	SizeAfter     *int64 `json:"size_after,omitempty"`
}

// dumpJSON is `db dump --json`: {"records": [{"bucket", "key", "value"}]}.
func dumpJSON(c *cli.Context, d *db.DB) error {
	out := struct {
		Records []db.Record `json:"records"`
	}{Records: []db.Record{}}
	err := d.Records(func(r db.Record) error {
		out.Records = append(out.Records, r)
		return nil
	})
	if err != nil {
		return err
	}
	return printJSON(c.App.Writer, out)
}
