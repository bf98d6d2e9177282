//go:build wasm

package guest

// The raw "dapr" imports, exactly as ABI.md lists them: every pointer is an
// unsafe.Pointer and every length a uint32, both of which Go passes as a
// wasm i32, so these are the ABI's signatures (state_set has nine i32
// parameters, and so on). Go's heap objects never move and a host function
// cannot call back into the guest, so a pointer stays valid for the call.

import "unsafe"

//go:wasmimport dapr state_get
func sysStateGet(store unsafe.Pointer, storeLen uint32, key unsafe.Pointer, keyLen uint32) int64

//go:wasmimport dapr state_get_bulk
func sysStateGetBulk(store unsafe.Pointer, storeLen uint32, keys unsafe.Pointer, keysLen uint32) int64

//go:wasmimport dapr state_set
func sysStateSet(store unsafe.Pointer, storeLen uint32, key unsafe.Pointer, keyLen uint32,
	value unsafe.Pointer, valueLen uint32, etag unsafe.Pointer, etagLen uint32, concurrency int32) int64

//go:wasmimport dapr state_delete
func sysStateDelete(store unsafe.Pointer, storeLen uint32, key unsafe.Pointer, keyLen uint32,
	etag unsafe.Pointer, etagLen uint32, concurrency int32) int64

//go:wasmimport dapr publish
func sysPublish(pubsub unsafe.Pointer, pubsubLen uint32, topic unsafe.Pointer, topicLen uint32,
	data unsafe.Pointer, dataLen uint32, contentType unsafe.Pointer, contentTypeLen uint32) int64

//go:wasmimport dapr invoke_binding
func sysInvokeBinding(name unsafe.Pointer, nameLen uint32, operation unsafe.Pointer, operationLen uint32,
	data unsafe.Pointer, dataLen uint32) int64

//go:wasmimport dapr log
func sysLog(level int32, message unsafe.Pointer, messageLen uint32)

//go:wasmimport dapr take_result
func sysTakeResult(buf unsafe.Pointer, bufLen uint32) int64
