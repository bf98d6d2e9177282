"""The component flavour: a workload as a ``wasi:http/proxy`` component
(componentize-py), the Python counterpart of the Rust guest's
``component.rs``.

- Incoming: ``POST`` (any path) runs the workload on the body: ``200`` with
  the answer, ``422`` with the message when it refuses (the embedded
  flavour's message: ``blueprint._serve``). A body over 64 MiB is ``413``;
  any other method is ``405``.
- Outgoing: ``blueprint``'s Dapr calls go through ``_bb`` (this folder), which
  sends them to Dapr's HTTP API through ``wasi:http/outgoing-handler``.

``blueprint`` and the workload are imported here, at module level: the
build pre-initialises the interpreter with this module imported, so an
instance (one per request on both servers) starts with them loaded.
"""

import _bb
import blueprint
import workload
from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports.types import (
    Fields,
    IncomingBody,
    Method_Post,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)

_HANDLE = workload.handle
_SERVE = blueprint._serve


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request, response_out):
        with request:
            if isinstance(request.method(), Method_Post):
                body = _read_request(request)
                if body is None:
                    status, answer = 413, b"request body over the limit"
                else:
                    ok, answer = _SERVE(_HANDLE, body)
                    status = 200 if ok else 422
            else:
                status, answer = 405, b"POST only"
        _respond(response_out, status, answer)


def _read_request(request):
    """The request's body, or ``None`` when it is over the limit."""
    try:
        incoming = request.consume()
        with incoming.stream() as stream:
            body = _bb.read_all(stream, _bb.MAX_BODY)
        # The stream is a child of the body: it is dropped first.
        with IncomingBody.finish(incoming):
            pass
    except Err:
        return None
    return body


def _respond(response_out, status, answer):
    response = OutgoingResponse(Fields.from_list([("content-type", b"application/octet-stream")]))
    try:
        response.set_status_code(status)
        outgoing = response.body()
    except Err:
        return
    ResponseOutparam.set(response_out, Ok(response))
    try:
        with outgoing.write() as stream:
            _bb.write_all(stream, answer)
    except Err:
        pass
    try:
        OutgoingBody.finish(outgoing, None)
    except Err:
        pass
