package fsscan

import (
	"fmt"
	"strings"
)

// currentRevision judges the target of the current link by its text alone:
// it must be exactly `<m>-<rev>`, naming a revision found in the directory.
// The link is never followed, so an operator's mistake (or a hostile link)
// cannot make bmsched look, or later write, outside the machine directory.
// It returns the revision, or 0 and the reason the link is an anomaly.
//
// revisions maps the names of the valid revisions to their numbers;
// refused maps the names of refused entries to their reasons.
func currentRevision(machine, target string, revisions map[string]uint64, refused map[string]string) (uint64, string) {
	switch {
	case target == "":
		return 0, "current link has an empty target"
	case strings.HasPrefix(target, "/") || target == ".." || hasDotDot(target):
		return 0, fmt.Sprintf("current link points outside the machine directory (%q)", target)
	case target == ".":
		return 0, "current link points to the machine directory itself (\".\")"
	case strings.Contains(target, "/"):
		return 0, fmt.Sprintf("current link target %q is a path, not exactly %s-<rev>", target, machine)
	}
	e := ClassifyName(machine, target)
	if e.Kind != KindRevision {
		return 0, fmt.Sprintf("current link points to %q, which is not a revision: %s", target, e.describe())
	}
	if rev, ok := revisions[target]; ok {
		return rev, ""
	}
	if reason, ok := refused[target]; ok {
		return 0, fmt.Sprintf("current link points to %q, which is not a valid revision: %s", target, reason)
	}
	return 0, fmt.Sprintf("current link is dangling: %q does not exist", target)
}

// hasDotDot reports whether ".." is a component of the slash-separated path.
func hasDotDot(p string) bool {
	for c := range strings.SplitSeq(p, "/") {
		if c == ".." {
			return true
		}
	}
	return false
}
