package api

// Exit codes of the CLI contract (design §5). The daemon puts the code in
// every error it answers, so that the client need not guess it from the
// HTTP status.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUsage       = 2
	ExitNotFound    = 3
	ExitNoCapacity  = 4
	ExitRefused     = 5
	ExitUnreachable = 6
)

// Error is the body of every failed request: {"error": "...", "exit": N}.
type Error struct {
	Message string `json:"error"`
	Exit    int    `json:"exit"`
	// Status, when set, is the HTTP status the daemon answers with
	// instead of the one HTTPStatus gives for Exit (413 for a body too
	// large, say).
	Status int `json:"-"`
}

func (e *Error) Error() string { return e.Message }

// HTTPStatus maps an exit code onto the status the daemon answers with.
func HTTPStatus(exit int) int {
	switch exit {
	case ExitUsage:
		return 400
	case ExitNotFound:
		return 404
	case ExitNoCapacity:
		return 503
	case ExitRefused:
		return 409
	default:
		return 500
	}
}
