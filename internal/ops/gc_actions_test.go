package ops

import (
	"reflect"
	"testing"

	"github.com/bmsched/bmsched/internal/api"
)

func TestGCActions(t *testing.T) {
	lines := []string{
		"would delete /m/default/dead/dead-gcc: machine has no current link",
		"removed /m/default/dead: machine has no current link",
		"kept /m/default/dead/notes.txt: not in the layout (not made by bmsched; remove it by hand if unwanted)",
		"abandoned bootstrap 3 of default/lin gcc: its client (pid 9) is gone: delete /m/default/lin/.bmsched-boot-3",
		"something else",
	}
	got := GCActions(lines)
	want := []api.OpAction{
		{Action: "delete", DryRun: true, Path: "/m/default/dead/dead-gcc", Reason: "machine has no current link"},
		{Action: "remove-dir", Path: "/m/default/dead", Reason: "machine has no current link"},
		{Action: "keep", Path: "/m/default/dead/notes.txt", Reason: "not in the layout (not made by bmsched; remove it by hand if unwanted)"},
		{Action: "abandon-bootstrap", Reason: "bootstrap 3 of default/lin gcc: its client (pid 9) is gone: delete /m/default/lin/.bmsched-boot-3"},
		{Action: "note"},
	}
	for i := range want {
		want[i].Message = lines[i]
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("action %d = %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
