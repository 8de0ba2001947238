package fsscan

// format rebuilds an entry's name from its parsed parts, so that the
// tests can check that ClassifyName lost nothing. Temporaries and strays
// have no parts: it returns their Name.
func format(e Entry, machine string) string {
	switch e.Kind {
	case KindCurrent:
		return machine
	case KindRevision:
		return RevisionName(machine, e.Rev)
	case KindImage:
		return ImageName(machine, e.Toolchain)
	case KindSnapshot:
		return machine + "-" + e.Toolchain + "-" + e.ID
	case KindTransient:
		return TransientName(machine)
	}
	return e.Name
}
