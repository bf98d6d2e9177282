package main

import "syscall"

// childAttr makes a child process die with the test binary, even if the test
// binary itself is killed before its cleanups run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
