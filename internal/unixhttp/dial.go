package unixhttp

import (
	"os"
	"syscall"
)

// Dial connects to the Unix stream socket at path by the system calls
// themselves rather than package net, whose resolver links cgo into every
// program that imports it. The connection is an *os.File in non-blocking
// mode, so that the runtime's poller serves its reads and writes and its
// deadlines interrupt them. A connect to a Unix socket completes at once or
// fails, never stays in progress: EAGAIN is a listener whose backlog is
// full. A failure is an *os.SyscallError ("connect: no such file or
// directory").
func Dial(path string) (*os.File, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	return os.NewFile(uintptr(fd), "unix:"+path), nil
}
