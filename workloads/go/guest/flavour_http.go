//go:build bb_http

package guest

// Flavour is the flavour this module was built as (workloads/ABI.md).
const Flavour = "http"

var active backend = daprHTTP{send: sendHTTP}
