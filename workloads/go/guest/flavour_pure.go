//go:build bb_middleware || bb_command

package guest

var active backend = noDapr{}
