//go:build !bb_http && !bb_middleware && !bb_command && !bb_component

package guest

var active backend = daprImports{}
