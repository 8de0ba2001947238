package ops

import (
	"fmt"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// Progress receives human-readable progress lines.
type Progress func(format string, args ...any)

// Did reports a step on the filesystem. It goes through the same function
// as a progress line, as one "%s" argument that prints as the line, so
// that a caller that only prints sees the line and one that collects
// results (the daemon's op stream) can pick the action out.
func (p Progress) Did(a api.OpAction) { p("%s", a) }

// didf is Did with the action's message made from format and args.
func (p Progress) didf(a api.OpAction, format string, args ...any) {
	a.Message = fmt.Sprintf(format, args...)
	p.Did(a)
}

// ActionOf returns the action in a progress call, if it reports one.
func ActionOf(format string, args []any) (api.OpAction, bool) {
	if format != "%s" || len(args) != 1 {
		return api.OpAction{}, false
	}
	a, ok := args[0].(api.OpAction)
	return a, ok
}

// fromRev is the revision an old link target names, or nil when it names
// none (a machine with no link).
func fromRev(machine, target string) *uint64 {
	if e := fsscan.ClassifyName(machine, target); e.Kind == fsscan.KindRevision {
		return api.Rev(e.Rev)
	}
	return nil
}
