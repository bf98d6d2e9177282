//go:build bb_http

package guest

var active backend = daprHTTP{send: sendHTTP}
