// Package cliapp is what the two programs share: the light client bmsched
// and the daemon bmschedd. It holds the command line's conventions (global
// flags, flags after arguments, exit codes, usage errors, escaping) and the
// daemon commands' flags and help, so that bmsched can document and
// complete them without linking the daemon.
//
// It must stay light: the client links it, and every package it imports
// adds to each worker's start (a test in cmd/bmsched checks the client's
// dependencies).
package cliapp
