package api

// OpAction is one step an operator command took (or, for gc --dry-run,
// would take) on the filesystem: what, where, and the revisions it moved
// between. Message is the progress line the command printed for it.
type OpAction struct {
	// Action is one of create-dir, place-revision, create-link,
	// switch-link, prune-revision, remove-link, delete-image,
	// delete-revision, delete-dir, delete-snapshot, make-readonly,
	// install-image, and for gc delete, remove-dir, keep and note
	// (values may be added, never renamed).
	Action  string  `json:"action"`
	Path    string  `json:"path,omitempty"`
	Rev     uint64  `json:"rev,omitempty"`
	From    *uint64 `json:"from,omitempty"`
	To      *uint64 `json:"to,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	DryRun  bool    `json:"dry_run,omitempty"`
	Message string  `json:"message"`
}

// String is the progress line, so that an action handed to a printf-like
// progress function prints as it always did.
func (a OpAction) String() string { return a.Message }

// OpResult is the outcome of an operator command (add, upgrade, rollback,
// delete, gc, bootstrap): the last line of its streamed answer, and what
// its --json prints.
type OpResult struct {
	Op string `json:"op"`
	// Machine is VOLUME/NAME; empty for gc, which spans every machine.
	Machine string     `json:"machine,omitempty"`
	Message string     `json:"message"`
	Actions []OpAction `json:"actions"`
	// Events are the sequence numbers of the events recorded about the
	// machine (for gc, about anything) while the command ran, for
	// `bmsched events --after`.
	Events []uint64 `json:"events"`
}

// Rev returns a pointer to n, for OpAction's From and To.
func Rev(n uint64) *uint64 { return &n }
