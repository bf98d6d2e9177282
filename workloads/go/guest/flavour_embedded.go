//go:build !bb_http && !bb_middleware && !bb_command

package guest

// Flavour is the flavour this module was built as (workloads/ABI.md).
const Flavour = "embedded"

var active backend = daprImports{}
