package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strconv"
	"strings"

	"github.com/bmsched/bmsched/internal/api"
)

// lookupOwner turns USER:GROUP (names or numbers) into UID:GID.
func lookupOwner(s string) (string, error) {
	un, gn, ok := strings.Cut(s, ":")
	if !ok || un == "" || gn == "" {
		return "", exitf(api.ExitUsage, "--owner %q: want USER:GROUP", s)
	}
	uid, err := lookupID("passwd", "user", un)
	if err != nil {
		return "", err
	}
	gid, err := lookupID("group", "group", gn)
	if err != nil {
		return "", err
	}
	return uid + ":" + gid, nil
}

// lookupID is the number of a user or group given by name or number. A
// name is looked up with getent, which asks the system's name services
// (files, LDAP, systemd's dynamic users) as os/user's cgo lookup did: the
// client does not link cgo, which would make every worker's process load
// the C library before it starts.
func lookupID(db, what, name string) (string, error) {
	if _, err := strconv.Atoi(name); err == nil {
		return name, nil
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("getent", db, "--", name)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == 2:
		// getent's "not found", os/user's words for it.
		return "", exitf(api.ExitUsage, "--owner: %s: unknown %s %s", what, what, name)
	case err != nil:
		return "", exitf(api.ExitUsage, "--owner: look up %s %s: getent %s: %v %s(give the number instead)", what, name, db, err, strings.TrimSpace(stderr.String()+" "))
	}
	// name:password:ID:...
	f := strings.Split(strings.TrimSpace(stdout.String()), ":")
	if len(f) < 3 {
		return "", exitf(api.ExitUsage, "--owner: getent %s %s answered %q, not an entry (give the number instead)", db, name, stdout.String())
	}
	if _, err := strconv.ParseUint(f[2], 10, 32); err != nil {
		return "", exitf(api.ExitUsage, "--owner: getent %s %s answered %q, whose id is not a number (give the number instead)", db, name, stdout.String())
	}
	return f[2], nil
}
