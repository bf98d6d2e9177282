//go:build !linux

package main

import "syscall"

// childAttr: only Linux can tie a child's life to its parent's; elsewhere
// the tests' cleanups are the only guard.
func childAttr() *syscall.SysProcAttr { return nil }
