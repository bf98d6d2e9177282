//go:build !bb_http && !bb_middleware && !bb_command

package guest

var active backend = daprImports{}
