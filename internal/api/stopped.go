package api

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// stoppedError says that the daemon went away in the middle of a command
// (it stopped or crashed): what it was doing may be half done until it
// starts again and recovers, and which command resumes it. what is the
// request, named when the command line is not known.
func (c *Client) stoppedError(what string, cause error) error {
	name, hint := c.resume(what)
	why := ""
	if !errors.Is(cause, io.EOF) && !errors.Is(cause, io.ErrUnexpectedEOF) {
		why = fmt.Sprintf(" (%v)", cause)
	}
	return &Error{Exit: ExitFailed, Message: fmt.Sprintf("the daemon on %s stopped while running `%s`%s; %s", c.Socket, name, why, hint)}
}

// closedError is stoppedError for a daemon that closed the connection
// before its answer began: the request may or may not have been carried
// out.
func (c *Client) closedError(method, path string, cause error) error {
	name, hint := c.resume(method + " " + path)
	return &Error{Exit: ExitFailed, Message: fmt.Sprintf("%s %s: the daemon on %s closed the connection before answering (%v): it stopped or crashed while running `%s`, which may or may not have been carried out; %s", method, path, c.Socket, cause, name, hint)}
}

// resume names the command under way and says how to go on with it once
// the daemon is back.
func (c *Client) resume(what string) (name, hint string) {
	doing := c.Doing
	if doing == "" {
		doing = what
	}
	name = doing
	if f := strings.Fields(doing); len(f) > 1 && f[0] == "bmsched" {
		name = f[1]
	}
	hint = "start it again (its recovery at start finishes or undoes what was under way)"
	switch name {
	case "acquire":
		hint += ", and check `bmsched leases` before retrying the acquire: it may hold a lease already"
	case "release", "renew":
		hint += fmt.Sprintf(", then run `%s` again: it is safe to repeat", doing)
	case "add", "upgrade", "rollback", "delete", "gc":
		hint += fmt.Sprintf(", then run `%s` to resume; `bmsched events` shows what was done", doing)
	default:
		hint += fmt.Sprintf(", then run `%s` again", doing)
	}
	return name, hint
}
