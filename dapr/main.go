// Command daprd is the official Dapr sidecar (github.com/dapr/dapr/cmd/daprd/app)
// with exactly the components blueprint-bench uses registered, and no others.
//
// Upstream daprd chooses its components with the `allcomponents` /
// `stablecomponents` build tags, which pull in every cloud SDK. The harness
// builds this module without those tags and with a `-overlay` that blanks
// cmd/daprd/components/zz_notag.go (a file whose only job is to panic when no
// tag is set), so the registrations below are the whole component set. That
// keeps the cold build to a few minutes and the binary small. See
// harness/src/daprd.rs for the build command.
package main

import (
	"context"

	contribmiddleware "github.com/dapr/components-contrib/middleware"
	"github.com/dapr/kit/logger"

	bindingcron "github.com/dapr/components-contrib/bindings/cron"
	bindingwasm "github.com/dapr/components-contrib/bindings/wasm"
	middlewarewasm "github.com/dapr/components-contrib/middleware/http/wasm"
	nrsqlite "github.com/dapr/components-contrib/nameresolution/sqlite"
	pubsubinmemory "github.com/dapr/components-contrib/pubsub/in-memory"
	pubsubredis "github.com/dapr/components-contrib/pubsub/redis"
	stateinmemory "github.com/dapr/components-contrib/state/in-memory"
	stateredis "github.com/dapr/components-contrib/state/redis"
	statesqlite "github.com/dapr/components-contrib/state/sqlite"

	"github.com/dapr/dapr/cmd/daprd/app"
	"github.com/dapr/dapr/pkg/components"
	bindingsLoader "github.com/dapr/dapr/pkg/components/bindings"
	httpMiddlewareLoader "github.com/dapr/dapr/pkg/components/middleware/http"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubLoader "github.com/dapr/dapr/pkg/components/pubsub"
	stateLoader "github.com/dapr/dapr/pkg/components/state"
	"github.com/dapr/dapr/pkg/middleware"
)

func init() {
	// State stores: the embedded default, what `dapr init` uses, and a file-backed one.
	stateLoader.DefaultRegistry.RegisterComponent(stateinmemory.NewInMemoryStateStore, "in-memory")
	stateLoader.DefaultRegistry.RegisterComponent(stateredis.NewRedisStateStore, "redis")
	stateLoader.DefaultRegistry.RegisterComponent(statesqlite.NewSQLiteStateStore, "sqlite", "sqlite3")

	// Pub/sub brokers.
	pubsubLoader.DefaultRegistry.RegisterComponent(pubsubinmemory.New, "in-memory")
	pubsubLoader.DefaultRegistry.RegisterComponent(pubsubredis.NewRedisStreams, "redis")

	// Wasm inside daprd (wazero): the `middleware` and `binding` blueprints.
	httpMiddlewareLoader.DefaultRegistry.RegisterComponent(func(log logger.Logger) httpMiddlewareLoader.FactoryMethod {
		return func(metadata contribmiddleware.Metadata) (middleware.HTTP, error) {
			return middlewarewasm.NewMiddleware(log).GetHandler(context.TODO(), metadata)
		}
	}, "wasm")
	components.RegisterWasmComponentType(components.CategoryMiddleware, "wasm")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(bindingwasm.NewWasmOutput, "wasm")
	components.RegisterWasmComponentType(components.CategoryBindings, "wasm")

	// An input binding that needs nothing beyond daprd: the `cron` trigger.
	bindingsLoader.DefaultRegistry.RegisterInputBinding(bindingcron.NewCron, "cron")

	// Name resolution from a local SQLite file instead of standalone mode's
	// default mDNS, so that nothing is announced beyond loopback.
	nrLoader.DefaultRegistry.RegisterComponent(nrsqlite.NewResolver, "sqlite")
}

func main() {
	app.Run()
}
