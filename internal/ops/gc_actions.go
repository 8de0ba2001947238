package ops

import (
	"strings"

	"github.com/bmsched/bmsched/internal/api"
)

// gcVerbs are the verbs that begin gc's lines, with the action each is.
// The lines are gc's contract with the operator (printed as they are, and
// counted by CountActions); the actions are read back from them rather
// than built beside them, so that the two cannot disagree.
var gcVerbs = []struct {
	prefix, action string
	dryRun, path   bool
}{
	{"would delete ", "delete", true, true},
	{"deleted ", "delete", false, true},
	{"would remove ", "remove-dir", true, true},
	{"removed ", "remove-dir", false, true},
	{"would abandon ", "abandon-bootstrap", true, false},
	{"abandoned ", "abandon-bootstrap", false, false},
	{keptPrefix, "keep", false, true},
}

// GCActions turns gc's lines into actions: the path acted on and why. A
// line of no known verb is a "note".
func GCActions(lines []string) []api.OpAction {
	acts := make([]api.OpAction, 0, len(lines))
	for _, l := range lines {
		acts = append(acts, gcAction(l))
	}
	return acts
}

func gcAction(line string) api.OpAction {
	for _, v := range gcVerbs {
		rest, ok := strings.CutPrefix(line, v.prefix)
		if !ok {
			continue
		}
		a := api.OpAction{Action: v.action, DryRun: v.dryRun, Message: line, Reason: rest}
		if v.path {
			a.Path, a.Reason, _ = strings.Cut(rest, ": ")
		}
		return a
	}
	return api.OpAction{Action: "note", Message: line}
}
