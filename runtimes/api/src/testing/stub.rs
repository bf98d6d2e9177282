//! A host whose answers a test chooses call by call.

use std::fmt;

use crate::{DaprHost, HostError, NoDapr, OutboundRequest, OutboundResponse, StateEntry};

type StateGet = dyn Fn(&str, &str) -> Result<Option<StateEntry>, HostError> + Send + Sync;
type HttpRequest = dyn Fn(&OutboundRequest<'_>) -> Result<OutboundResponse, HostError> + Send + Sync;

/// A [`DaprHost`] that refuses every call with [`HostError::NotPermitted`]
/// (as [`NoDapr`] does) except the ones given an answer, so a test or
/// bench states only the one behaviour it is about: a `state_get` that
/// panics or counts its calls, an outbound HTTP that echoes the request.
#[derive(Default)]
pub struct StubHost {
    state_get: Option<Box<StateGet>>,
    http_request: Option<Box<HttpRequest>>,
}

impl StubHost {
    /// Answers `state_get(store, key)` with `answer`.
    #[must_use]
    pub fn on_state_get(
        mut self,
        answer: impl Fn(&str, &str) -> Result<Option<StateEntry>, HostError> + Send + Sync + 'static,
    ) -> Self {
        self.state_get = Some(Box::new(answer));
        self
    }

    /// Answers `http_request(request)` with `answer`.
    #[must_use]
    pub fn on_http_request(
        mut self,
        answer: impl Fn(&OutboundRequest<'_>) -> Result<OutboundResponse, HostError> + Send + Sync + 'static,
    ) -> Self {
        self.http_request = Some(Box::new(answer));
        self
    }
}

impl fmt::Debug for StubHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StubHost")
            .field("state_get", &self.state_get.is_some())
            .field("http_request", &self.http_request.is_some())
            .finish()
    }
}

impl DaprHost for StubHost {
    fn state_get(&self, store: &str, key: &str) -> Result<Option<StateEntry>, HostError> {
        self.state_get
            .as_ref()
            .map_or(Err(HostError::NotPermitted), |answer| answer(store, key))
    }
    crate::forward_dapr_host!(NoDapr => state_set, state_delete, publish, invoke_binding, log);
    fn http_request(&self, request: &OutboundRequest<'_>) -> Result<OutboundResponse, HostError> {
        self.http_request
            .as_ref()
            .map_or(Err(HostError::NotPermitted), |answer| answer(request))
    }
}
