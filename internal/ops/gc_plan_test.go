package ops

import (
	"reflect"
	"testing"

	"github.com/bmsched/bmsched/internal/fsscan"
)

func TestPlanGC(t *testing.T) {
	p := paths{dir: "/m/v/lin", name: "lin"}
	base := fsscan.Machine{
		Name:      "lin",
		Dir:       p.dir,
		Revisions: []fsscan.Revision{{Rev: 1}},
		Images:    []fsscan.Image{{Toolchain: "clang"}, {Toolchain: "gcc"}},
		Snapshots: []fsscan.Snapshot{{Name: "lin-gcc-001"}, {Name: "lin-gcc-002"}},
		Temps:     []string{".bmsched-boot-3"},
	}
	leased := map[string]bool{"/m/v/lin/lin-gcc-001": true}
	gccOnly := map[string]bool{"gcc": true}
	for _, tc := range []struct {
		name       string
		state      fsscan.State
		leased     map[string]bool
		configured map[string]bool
		strays     []fsscan.Stray
		transient  []string
		want       []string
	}{
		{
			name: "active: unleased snapshots and unconfigured images", state: fsscan.Active, leased: leased, configured: gccOnly,
			strays: []fsscan.Stray{{Name: "notes.txt", Reason: "not in the layout"}},
			want: []string{
				"would delete /m/v/lin/lin-gcc-002: snapshot with no lease",
				"would delete /m/v/lin/lin-clang: toolchain clang is not configured (serve --toolchains)",
				"kept /m/v/lin/notes.txt: not in the layout (not made by bmsched; remove it by hand if unwanted)",
			},
		},
		{
			name: "active, every toolchain kept", state: fsscan.Active, leased: leased,
			want: []string{"would delete /m/v/lin/lin-gcc-002: snapshot with no lease"},
		},
		{
			name: "no current link, a snapshot leased: not swept", state: fsscan.Retiring, leased: leased,
			want: []string{"would delete /m/v/lin/lin-gcc-002: snapshot with no lease"},
		},
		{
			name: "no current link, nothing leased: swept", state: fsscan.Retiring, transient: []string{"new-lin"},
			want: []string{
				"would delete /m/v/lin/lin-gcc-001: snapshot with no lease",
				"would delete /m/v/lin/lin-gcc-002: snapshot with no lease",
				"would delete /m/v/lin/lin-clang: machine has no current link",
				"would delete /m/v/lin/lin-gcc: machine has no current link",
				"would delete /m/v/lin/lin-1: machine has no current link",
				"would delete /m/v/lin/.bmsched-boot-3: bmsched temporary",
				"would remove /m/v/lin: machine has no current link",
			},
		},
		{
			name: "a stray where the link should be: reported, not swept", state: fsscan.Pending,
			strays: []fsscan.Stray{{Name: "lin", Reason: "current link is not a symlink"}},
			want: []string{
				"would delete /m/v/lin/lin-gcc-001: snapshot with no lease",
				"would delete /m/v/lin/lin-gcc-002: snapshot with no lease",
				"kept /m/v/lin/lin: current link is not a symlink (not made by bmsched; remove it by hand if unwanted)",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			m.State, m.Strays, m.Transients = tc.state, tc.strays, tc.transient
			pl := planGC(m, p, tc.leased, tc.configured)
			if got := pl.lines(true); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan:\n%q\nwant:\n%q", got, tc.want)
			}
			for _, s := range pl {
				if s.kind == gcRemoveDir && !reflect.DeepEqual(s.links, []string{"/m/v/lin/new-lin"}) {
					t.Errorf("directory removal takes links %q, want the upgrade link /m/v/lin/new-lin", s.links)
				}
			}
		})
	}
}
