//go:build !bb_command

package guest

// Main is a workload's main. In a reactor (every flavour but command) main
// never runs, so there is nothing to do; command.go has the command's.
func Main() {}
