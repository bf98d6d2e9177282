//go:build !wasm

package guest

// Outside wasm (go test, go vet on the build machine) there is no host to
// import from. The raw calls go to nativeHost, which the package's tests
// set to a fake; without one every call answers NOT_PERMITTED, as a host
// without Dapr access would.

import "unsafe"

// rawHost is the "dapr" import module with Go slices for (ptr, len) pairs.
type rawHost interface {
	stateGet(store, key []byte) int64
	stateGetBulk(store, keys []byte) int64
	stateSet(store, key, value, etag []byte, concurrency int32) int64
	stateDelete(store, key, etag []byte, concurrency int32) int64
	publish(pubsub, topic, data, contentType []byte) int64
	invokeBinding(name, operation, data []byte) int64
	log(level int32, message []byte)
	takeResult(buf []byte) int64
}

var nativeHost rawHost

const codeNotPermitted = int64(ErrNotPermitted)

func mem(p unsafe.Pointer, n uint32) []byte {
	if n == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(p), n)
}

func sysStateGet(store unsafe.Pointer, storeLen uint32, key unsafe.Pointer, keyLen uint32) int64 {
	if nativeHost == nil {
		return codeNotPermitted
	}
	return nativeHost.stateGet(mem(store, storeLen), mem(key, keyLen))
}

func sysStateGetBulk(store unsafe.Pointer, storeLen uint32, keys unsafe.Pointer, keysLen uint32) int64 {
	if nativeHost == nil {
		return codeNotPermitted
	}
	return nativeHost.stateGetBulk(mem(store, storeLen), mem(keys, keysLen))
}

func sysStateSet(store unsafe.Pointer, storeLen uint32, key unsafe.Pointer, keyLen uint32,
	value unsafe.Pointer, valueLen uint32, etag unsafe.Pointer, etagLen uint32, concurrency int32) int64 {
	if nativeHost == nil {
		return codeNotPermitted
	}
	return nativeHost.stateSet(mem(store, storeLen), mem(key, keyLen), mem(value, valueLen),
		mem(etag, etagLen), concurrency)
}

func sysStateDelete(store unsafe.Pointer, storeLen uint32, key unsafe.Pointer, keyLen uint32,
	etag unsafe.Pointer, etagLen uint32, concurrency int32) int64 {
	if nativeHost == nil {
		return codeNotPermitted
	}
	return nativeHost.stateDelete(mem(store, storeLen), mem(key, keyLen), mem(etag, etagLen), concurrency)
}

func sysPublish(pubsub unsafe.Pointer, pubsubLen uint32, topic unsafe.Pointer, topicLen uint32,
	data unsafe.Pointer, dataLen uint32, contentType unsafe.Pointer, contentTypeLen uint32) int64 {
	if nativeHost == nil {
		return codeNotPermitted
	}
	return nativeHost.publish(mem(pubsub, pubsubLen), mem(topic, topicLen), mem(data, dataLen),
		mem(contentType, contentTypeLen))
}

func sysInvokeBinding(name unsafe.Pointer, nameLen uint32, operation unsafe.Pointer, operationLen uint32,
	data unsafe.Pointer, dataLen uint32) int64 {
	if nativeHost == nil {
		return codeNotPermitted
	}
	return nativeHost.invokeBinding(mem(name, nameLen), mem(operation, operationLen), mem(data, dataLen))
}

func sysLog(level int32, message unsafe.Pointer, messageLen uint32) {
	if nativeHost != nil {
		nativeHost.log(level, mem(message, messageLen))
	}
}

func sysTakeResult(buf unsafe.Pointer, bufLen uint32) int64 {
	if nativeHost == nil {
		return codeNotPermitted
	}
	return nativeHost.takeResult(mem(buf, bufLen))
}

// nativeHTTP answers the http flavour's requests outside wasm (tests set
// it); nil answers NOT_PERMITTED, as a host without a sidecar does.
var nativeHTTP sender

func sendHTTP(method, url, headers string, body []byte) (httpResponse, error) {
	if nativeHTTP == nil {
		return httpResponse{}, ErrNotPermitted
	}
	return nativeHTTP(method, url, headers, body)
}
