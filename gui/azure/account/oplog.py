"""The operation log: one line for every request the SDK clients send to Azure.

What Azure support asks for, and what an administrator wants to see after a morning of work:
which operation ran (method and resource path), how it ended (HTTP status, Azure's error code),
how long it took, and the ids that find it in Azure's own logs (``x-ms-request-id`` from Azure,
``x-ms-client-request-id`` that we sent). The path is cut at its query string and passed through
the one redaction function (gui/transfer/redact.py), so no SAS or token ever reaches the log.

A per-call policy: it sees each operation once, after the SDK's retries, with the time the
retries took. Paging requests and long-running-operation polls are calls of their own, so each
gets its line. Failures (HTTP 400 and up, except 404, which answers "does it exist?") are
warnings; the rest is information.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy

from gui.azure.errors import client_request_id
from gui.transfer.redact import redact, strip_query

OPERATIONS_LOGGER = "gui.azure.operations"
log = logging.getLogger(OPERATIONS_LOGGER)
# The app's root logger is at INFO, but a host (a test, the headless commands) may keep the root
# at WARNING: the operation lines are information the log dock is there to show, so this logger
# says INFO itself (handlers still decide what they keep).
log.setLevel(logging.INFO)

_STARTED = "ais_operation_started"  # our key in the pipeline context


@dataclass(frozen=True)
class Operation:
    """One request to Azure as the log shows it; nothing in it is secret."""

    method: str
    path: str  # the resource path: no scheme, host or query
    status: int | None  # None: no answer (connection failed, timed out)
    duration_ms: float
    client_request_id: str | None
    request_id: str | None
    error_code: str = ""
    error: str = ""  # why there was no answer (already redacted)

    @property
    def failed(self) -> bool:
        return self.status is None or (self.status >= 400 and self.status != 404)

    def line(self) -> str:
        ids = (
            f"x-ms-client-request-id {self.client_request_id or '-'}, "
            f"x-ms-request-id {self.request_id or '-'}"
        )
        took = f"{self.duration_ms:.0f} ms"
        if self.status is None:
            return f"{self.method} {self.path} failed: {self.error} after {took} ({ids})"
        if self.status >= 400:
            code = f" {self.error_code}" if self.error_code else ""
            return f"{self.method} {self.path} failed: HTTP {self.status}{code} in {took} ({ids})"
        return f"{self.method} {self.path} HTTP {self.status} in {took} ({ids})"


def resource_path(url: str) -> str:
    """The path of a request URL, without host and query, redacted (a SAS may hide anywhere)."""
    return redact(urlsplit(strip_query(url)).path or "/")


class OperationLogPolicy(SansIOHTTPPolicy[Any, Any]):
    """Logs every operation with its status, duration and request ids (see the module)."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.context[_STARTED] = time.monotonic()

    def _elapsed_ms(self, request: PipelineRequest[Any]) -> float:
        started = request.context.get(_STARTED)
        return (time.monotonic() - started) * 1000 if started is not None else 0.0

    def on_response(
        self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]
    ) -> None:
        http_request = request.http_request
        headers = response.http_response.headers
        operation = Operation(
            method=http_request.method,
            path=resource_path(http_request.url),
            status=response.http_response.status_code,
            duration_ms=self._elapsed_ms(request),
            client_request_id=client_request_id(http_request.headers),
            request_id=headers.get("x-ms-request-id"),
            error_code=headers.get("x-ms-error-code") or "",
        )
        log.log(
            logging.WARNING if operation.failed else logging.INFO,
            "%s",
            operation.line(),
            extra={"operation": operation},
        )

    def on_exception(self, request: PipelineRequest[Any]) -> None:
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, Exception):
            return  # cancelled (the window closed, a listing was superseded): not a failure
        http_request = request.http_request
        operation = Operation(
            method=http_request.method,
            path=resource_path(http_request.url),
            status=None,
            duration_ms=self._elapsed_ms(request),
            client_request_id=client_request_id(http_request.headers),
            request_id=None,
            error=redact(f"{type(error).__name__}: {error}") if error else "no answer",
        )
        log.warning("%s", operation.line(), extra={"operation": operation})
