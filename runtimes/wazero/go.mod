module blueprint-bench/runtimes/wazero

go 1.26

require (
	// The AppCallback protos of the gRPC app channel (app_callback.go); the
	// version the SDK brings.
	github.com/dapr/dapr v1.14.0
	github.com/dapr/go-sdk v1.11.0
	github.com/tetratelabs/wazero v1.12.0
	google.golang.org/grpc v1.80.0
	google.golang.org/protobuf v1.36.11
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/kr/pretty v0.3.1 // indirect
	go.opentelemetry.io/otel v1.39.0 // indirect
	golang.org/x/net v0.55.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
	golang.org/x/text v0.37.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260120221211-b8f7ae30c516 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

// The golden vectors' Go reader, shared with the Go guests' tests; only
// tests import it, so the host binary does not depend on it.
require blueprint-bench/workloads/go v0.0.0

replace blueprint-bench/workloads/go => ../../workloads/go
