//! The gRPC app channel (`runtimes/HOST.md`, "gRPC app channel"): Dapr's
//! `AppCallback` service, which daprd calls when it runs with
//! `--app-protocol grpc`. It is served on the host's own port beside the
//! HTTP routes: hyper's connection serves HTTP/1.1 and h2c alike, and a
//! request whose content type is `application/grpc` goes to this service.
//!
//! `OnInvoke` runs a workload exactly as `POST /<workload>` does,
//! `OnTopicEvent` as `POST /events/<workload>` does, and `OnBulkTopicEvent`
//! as `POST /bulk-events/<workload>` does: the same call path
//! (instance strategy, time limit, stats counters, event log). The
//! generated server of the `dapr` crate is used directly, since the SDK's
//! own `AppCallbackService` does not implement `OnInvoke` and lists its
//! handlers as programmatic subscriptions, where the harness gives daprd a
//! declarative one.

use std::sync::Arc;

use bytes::Bytes;
use dapr::dapr::proto::common::v1::{InvokeRequest, InvokeResponse};
use dapr::dapr::proto::runtime::v1::app_callback_server::{AppCallback, AppCallbackServer};
use dapr::dapr::proto::runtime::v1::topic_event_response::TopicEventResponseStatus;
use dapr::dapr::proto::runtime::v1::{
    BindingEventRequest, BindingEventResponse, JobEventRequest, JobEventResponse, ListInputBindingsResponse,
    ListTopicSubscriptionsResponse, TopicEventBulkRequest, TopicEventBulkRequestEntry,
    TopicEventBulkResponse, TopicEventBulkResponseEntry, TopicEventRequest, TopicEventResponse,
    topic_event_bulk_request_entry,
};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tonic::codegen::Service as _;
use tonic::{Code, Status};

use crate::events::{self, Outcome};
use crate::server::{MAX_BODY, Served, call, handle_bulk, handle_event, handle_firing};

/// The `AppCallback` service as a tower service.
pub(crate) type Service = AppCallbackServer<Callback>;

/// The service over the host's workloads; messages up to the HTTP side's
/// body limit both ways (tonic's default is 4 MiB in).
pub(crate) fn service(served: Arc<Served>) -> Service {
    AppCallbackServer::new(Callback { served })
        .max_decoding_message_size(MAX_BODY)
        .max_encoding_message_size(MAX_BODY)
}

/// Whether a request is a gRPC call (`application/grpc`, `application/grpc+proto`, …).
pub(crate) fn is_grpc<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

/// Methods daprd calls without the app token (it adds the token to
/// invocations and deliveries only); they reveal nothing but two empty lists.
const OPEN_METHODS: &[&str] = &[
    "/dapr.proto.runtime.v1.AppCallback/ListTopicSubscriptions",
    "/dapr.proto.runtime.v1.AppCallback/ListInputBindings",
];

/// One gRPC call: the app token checked as the HTTP side checks it (as
/// `dapr-api-token` metadata, `UNAUTHENTICATED` without it), then the
/// service. Unknown methods get tonic's `UNIMPLEMENTED`.
pub(crate) async fn handle(
    mut grpc: Service,
    served: &Served,
    req: Request<Incoming>,
) -> Response<tonic::body::Body> {
    if let Some(expected) = &served.app_api_token
        && !OPEN_METHODS.contains(&req.uri().path())
    {
        let given = req.headers().get(crate::token::HEADER).map(|v| v.as_bytes());
        if !given.is_some_and(|given| crate::token::matches(expected, given)) {
            return Status::unauthenticated(format!("missing or wrong `{}` metadata", crate::token::HEADER))
                .into_http();
        }
    }
    match grpc.call(req).await {
        Ok(reply) => reply,
        Err(never) => match never {},
    }
}

/// The gRPC status of a failed call, from the HTTP status the same failure
/// gets on the HTTP side (`runtimes/HOST.md`). Through daprd's HTTP invoke
/// API a caller sees each as an error status (in brackets).
pub fn code_for(status: StatusCode) -> Code {
    match status {
        // The workload refused the input (ABI error flag): 400.
        StatusCode::UNPROCESSABLE_ENTITY => Code::InvalidArgument,
        // A trap: 500.
        StatusCode::INTERNAL_SERVER_ERROR => Code::Internal,
        // The time limit: 504.
        StatusCode::GATEWAY_TIMEOUT => Code::DeadlineExceeded,
        // A broken ABI or a failed instantiation: 500.
        StatusCode::BAD_GATEWAY => Code::Unknown,
        // A body over the limit: 429.
        StatusCode::PAYLOAD_TOO_LARGE => Code::ResourceExhausted,
        // The failing-host test knob: 503.
        StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// The `AppCallback` implementation over the host's workloads.
pub(crate) struct Callback {
    served: Arc<Served>,
}

/// The workload a delivery's route names: `/events/<workload>`.
fn routed_workload(path: &str) -> Option<&str> {
    path.trim_start_matches('/').strip_prefix("events/")
}

/// The workload a bulk delivery's route names: `/bulk-events/<workload>`.
fn bulk_routed_workload(path: &str) -> Option<&str> {
    path.trim_start_matches('/').strip_prefix("bulk-events/")
}

/// A bulk entry as the HTTP side reads it: daprd sends each CloudEvent of a
/// bulk subscription as its fields, with `data` already the input's bytes
/// (a string's text, a JSON value's text), or as the raw event.
fn bulk_entry(entry: TopicEventBulkRequestEntry) -> events::BulkEntry {
    let event = match entry.event {
        Some(topic_event_bulk_request_entry::Event::CloudEvent(ce)) => Ok(events::Event {
            id: ce.id,
            data: ce.data,
        }),
        Some(topic_event_bulk_request_entry::Event::Bytes(raw)) => events::parse(&raw),
        None => Err("the bulk entry has no event".into()),
    };
    events::BulkEntry {
        entry_id: entry.entry_id,
        event,
    }
}

/// The workload an input binding's firing is for: over gRPC daprd names
/// the binding (`cron-<workload>`), not the HTTP route.
fn binding_workload(name: &str) -> Option<&str> {
    name.strip_prefix("cron-")
}

/// Dapr's answer for an outcome.
fn topic_status(outcome: Outcome) -> TopicEventResponseStatus {
    match outcome {
        Outcome::Success => TopicEventResponseStatus::Success,
        Outcome::Drop => TopicEventResponseStatus::Drop,
        Outcome::Retry => TopicEventResponseStatus::Retry,
    }
}

#[tonic::async_trait]
impl AppCallback for Callback {
    async fn on_invoke(
        &self,
        request: tonic::Request<InvokeRequest>,
    ) -> Result<tonic::Response<InvokeResponse>, Status> {
        let request = request.into_inner();
        let Some(workload) = self.served.modules.get(&request.method) else {
            return Err(Status::not_found(format!("no workload `{}`", request.method)));
        };
        let input = request.data.map(|any| any.value).unwrap_or_default();
        match call(&self.served, workload.clone(), Bytes::from(input)).await {
            Ok(output) => Ok(tonic::Response::new(InvokeResponse {
                data: Some(prost_types::Any {
                    type_url: String::new(),
                    value: output,
                }),
                content_type: String::new(),
            })),
            Err((status, message)) => Err(Status::new(code_for(status), message)),
        }
    }

    async fn list_topic_subscriptions(
        &self,
        _request: tonic::Request<()>,
    ) -> Result<tonic::Response<ListTopicSubscriptionsResponse>, Status> {
        // The harness subscribes the app declaratively.
        Ok(tonic::Response::new(ListTopicSubscriptionsResponse::default()))
    }

    async fn on_topic_event(
        &self,
        request: tonic::Request<TopicEventRequest>,
    ) -> Result<tonic::Response<TopicEventResponse>, Status> {
        let event = request.into_inner();
        if let Some(topic) = event.path.trim_start_matches('/').strip_prefix("subscriber/") {
            // The plain subscriber (`POST /subscriber/<topic>` over HTTP):
            // the event's fields as the CloudEvent daprd would have posted,
            // its data as data_base64 so that it is kept byte for byte.
            use base64::Engine as _;
            let cloud_event = serde_json::json!({
                "id": event.id,
                "pubsubname": event.pubsub_name,
                "topic": event.topic,
                "datacontenttype": event.data_content_type,
                "data_base64": base64::engine::general_purpose::STANDARD.encode(&event.data),
            });
            let status = match self
                .served
                .subscriber
                .receive(topic, cloud_event.to_string().as_bytes())
            {
                Ok(()) => TopicEventResponseStatus::Success,
                Err(why) => {
                    tracing::warn!("subscriber: dropping a delivery: {why}");
                    TopicEventResponseStatus::Drop
                }
            };
            return Ok(tonic::Response::new(TopicEventResponse {
                status: status as i32,
            }));
        }
        // UNIMPLEMENTED is the one error daprd drops rather than retries,
        // like a 404 on the HTTP side.
        let Some(workload) = routed_workload(&event.path).and_then(|name| self.served.modules.get(name))
        else {
            return Err(Status::unimplemented(format!(
                "no workload at route `{}` (expected /events/<workload>)",
                event.path
            )));
        };
        let outcome = handle_event(&self.served, workload.clone(), event.id, event.data).await;
        Ok(tonic::Response::new(TopicEventResponse {
            status: topic_status(outcome) as i32,
        }))
    }

    async fn list_input_bindings(
        &self,
        _request: tonic::Request<()>,
    ) -> Result<tonic::Response<ListInputBindingsResponse>, Status> {
        Ok(tonic::Response::new(ListInputBindingsResponse::default()))
    }

    async fn on_binding_event(
        &self,
        request: tonic::Request<BindingEventRequest>,
    ) -> Result<tonic::Response<BindingEventResponse>, Status> {
        let firing = request.into_inner();
        let Some(workload) = binding_workload(&firing.name).and_then(|name| self.served.modules.get(name))
        else {
            return Err(Status::not_found(format!(
                "no workload for binding `{}` (expected cron-<workload>)",
                firing.name
            )));
        };
        let fired = firing
            .metadata
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(events::READ_TIME_HEADER))
            .map(|(_, value)| value.as_str());
        match handle_firing(&self.served, workload.clone(), fired, Bytes::from(firing.data)).await {
            // Nothing for daprd to save or send on.
            Ok(()) => Ok(tonic::Response::new(BindingEventResponse::default())),
            Err((status, message)) => Err(Status::new(code_for(status), message)),
        }
    }

    async fn on_bulk_topic_event(
        &self,
        request: tonic::Request<TopicEventBulkRequest>,
    ) -> Result<tonic::Response<TopicEventBulkResponse>, Status> {
        let batch = request.into_inner();
        let Some(workload) = bulk_routed_workload(&batch.path).and_then(|name| self.served.modules.get(name))
        else {
            return Err(Status::unimplemented(format!(
                "no workload at route `{}` (expected /bulk-events/<workload>)",
                batch.path
            )));
        };
        let entries = batch.entries.into_iter().map(bulk_entry).collect();
        let statuses = handle_bulk(&self.served, workload.clone(), entries).await;
        Ok(tonic::Response::new(TopicEventBulkResponse {
            statuses: statuses
                .into_iter()
                .map(|(entry_id, outcome)| TopicEventBulkResponseEntry {
                    entry_id,
                    status: topic_status(outcome) as i32,
                })
                .collect(),
        }))
    }

    async fn on_job_event(
        &self,
        _request: tonic::Request<JobEventRequest>,
    ) -> Result<tonic::Response<JobEventResponse>, Status> {
        Err(Status::unimplemented("the host has no jobs"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_is_an_error_status_through_daprd() {
        for status in [422, 500, 504, 502, 413, 503] {
            let code = code_for(StatusCode::from_u16(status).unwrap());
            assert_ne!(code, Code::Ok, "{status}");
        }
        assert_eq!(code_for(StatusCode::UNPROCESSABLE_ENTITY), Code::InvalidArgument);
        assert_eq!(code_for(StatusCode::GATEWAY_TIMEOUT), Code::DeadlineExceeded);
    }

    #[test]
    fn a_delivery_route_names_its_workload() {
        assert_eq!(routed_workload("/events/counter"), Some("counter"));
        assert_eq!(routed_workload("events/counter"), Some("counter"));
        assert_eq!(routed_workload("/counter"), None);
        assert_eq!(bulk_routed_workload("/bulk-events/counter"), Some("counter"));
        assert_eq!(bulk_routed_workload("/events/counter"), None);
        assert_eq!(binding_workload("cron-noop"), Some("noop"));
        assert_eq!(binding_workload("noop"), None);
    }
}
