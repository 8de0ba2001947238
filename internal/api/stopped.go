package api

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// stoppedError says that the daemon went away in the middle of a command
// (it stopped or crashed): what it was doing may be half done until it
// starts again and recovers, and which command resumes it.
func (c *Client) stoppedError(what string, cause error) error {
	doing := c.Doing
	if doing == "" {
		doing = what
	}
	name := doing
	if f := strings.Fields(doing); len(f) > 1 && f[0] == "bmsched" {
		name = f[1]
	}
	why := ""
	if !errors.Is(cause, io.EOF) && !errors.Is(cause, io.ErrUnexpectedEOF) {
		why = fmt.Sprintf(" (%v)", cause)
	}
	msg := fmt.Sprintf("the daemon on %s stopped while running `%s`%s; start it again (its recovery at start finishes or undoes what was under way)", c.Socket, name, why)
	switch name {
	case "acquire":
		msg += ", and check `bmsched leases` before retrying the acquire: it may hold a lease already"
	case "release", "renew":
		msg += fmt.Sprintf(", then run `%s` again: it is safe to repeat", doing)
	case "add", "upgrade", "rollback", "delete", "gc":
		msg += fmt.Sprintf(", then run `%s` to resume; `bmsched events` shows what was done", doing)
	default:
		msg += fmt.Sprintf(", then run `%s` again", doing)
	}
	return &Error{Exit: ExitFailed, Message: msg}
}
