"""One exception type per cause a user can meet when talking to Azure.

Every message says what happened and what to do. ``translate`` turns the azure-core exceptions
the SDK raises into these, so the views never show a traceback or an SDK class name.

Titles and advice are ours, so they are :class:`Text` (English that carries its translatable
Message); what Azure wrote (``message`` of an error from Azure, its ``code``) stays as Azure
wrote it. ``localized(render)`` composes the text the window shows in its language.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from gui.i18n import QT_TR_NOOP, Message, Render, Text, localize, message
from gui.transfer.redact import redact
from gui.transfer.tls import InsecureTransportError, MalformedUrlError

__all__ = [
    "AzureServiceError",
    "ConflictError",
    "ConnectionLostError",
    "InsecureEndpointError",
    "InvalidRequestError",
    "NotFoundError",
    "NotSignedInError",
    "PermissionDeniedError",
    "ServiceUnavailableError",
    "ThrottledError",
    "client_request_id",
    "redact",  # the one redaction function (gui/transfer/redact.py), re-exported
    "translate",
    "translated",
    "translating",
]

P = ParamSpec("P")
R = TypeVar("R")


class AzureServiceError(Exception):
    """Base of everything the Azure layer raises on purpose.

    ``message`` is Azure's own text (kept as Azure wrote it, redacted), or ours when made from
    a :class:`Message`; ``str(error)`` is that English text.
    """

    title: str = Text(QT_TR_NOOP("Azure request failed"))
    advice: str = Text(QT_TR_NOOP(
        "Try again; if it keeps failing, check the log (View → Log) for details."))

    def __init__(
        self,
        message: Message | str,
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ):
        self.message: str = _redacted(message)
        self.code = code
        self.status = status
        # x-ms-client-request-id of the failed request: what Azure support asks for.
        self.request_id = request_id
        super().__init__(self.message)

    def user_text(self) -> str:
        """The message and what to do, as a dialog or a tree node shows it."""
        head = f"{self.code}: {self.message}" if self.code else self.message
        text = f"{head}\n{self.advice}" if self.advice else head
        return f"{text}\nRequest id: {self.request_id}" if self.request_id else text

    def localized(self, render: Render) -> str:
        """``user_text`` in the window's language: our message, advice and labels translated,
        Azure's code and message as Azure wrote them."""
        text = localize(render, self.message)
        head = f"{self.code}: {text}" if self.code else text
        if self.advice:
            head = f"{head}\n{localize(render, self.advice)}"
        if self.request_id:
            label = message(QT_TR_NOOP("Request id: {request_id}"), request_id=self.request_id)
            head = f"{head}\n{render(label)}"
        return head


def _redacted(text: Message | str) -> str:
    """The error's text with any secret removed. A Message keeps its template (ours) and has
    its plain-string arguments (which may quote a URL or Azure's text) redacted."""
    if isinstance(text, Message):
        return Text(Message(
            text.template,
            {k: redact(v) if type(v) is str else v for k, v in text.args.items()},
            count=text.count, plural=text.plural))
    return text if isinstance(text, Text) else redact(text)


class NotSignedInError(AzureServiceError):
    title = Text(QT_TR_NOOP("Not signed in"))
    advice = Text(QT_TR_NOOP(
        "Sign in (Account → Sign in to Azure…) or run `az login`, then refresh."))


class PermissionDeniedError(AzureServiceError):
    title = Text(QT_TR_NOOP("Permission denied"))
    advice = Text(QT_TR_NOOP(
        "Your account lacks a role on this scope. Ask an owner of the subscription for the "
        "Reader role (browse) or Contributor (capture, upload), or pick another subscription."
    ))


class NotFoundError(AzureServiceError):
    title = Text(QT_TR_NOOP("Not found"))
    advice = Text(QT_TR_NOOP("It may have been deleted or renamed. Refresh the tree."))


class ThrottledError(AzureServiceError):
    title = Text(QT_TR_NOOP("Azure is throttling requests"))
    advice = Text(QT_TR_NOOP(
        "Azure asked us to slow down and retries did not get through. Wait a minute, then refresh."
    ))


class ServiceUnavailableError(AzureServiceError):
    title = Text(QT_TR_NOOP("Azure service error"))
    advice = Text(QT_TR_NOOP(
        "Azure answered with a server error. It is usually transient: wait a moment and refresh."
    ))


class ConnectionLostError(AzureServiceError):
    title = Text(QT_TR_NOOP("No connection"))
    advice = Text(QT_TR_NOOP(
        "Check the network connection (and proxy settings), then refresh."))


class InvalidRequestError(AzureServiceError):
    title = Text(QT_TR_NOOP("Azure refused the request"))
    advice = Text(QT_TR_NOOP("Correct what the message names and try again."))


class InsecureEndpointError(AzureServiceError):
    title = Text(QT_TR_NOOP("Refused: not a secure connection"))
    advice = Text(QT_TR_NOOP(
        "Tokens and keys travel only over https://. Check the cloud's endpoints "
        "(`az cloud show`) or the URL you entered; plain http:// is allowed only to this machine."
    ))


class ConflictError(AzureServiceError):
    title = Text(QT_TR_NOOP("Conflict"))
    advice = Text(QT_TR_NOOP(
        "Something with that name already exists or is busy. Pick another name or wait."))


def translate(exc: BaseException) -> AzureServiceError:
    """Maps an azure-core (or network) exception onto the error type for its cause."""
    if isinstance(exc, AzureServiceError):
        return exc
    if isinstance(exc, InsecureTransportError | MalformedUrlError):
        return InsecureEndpointError(str(exc))
    if isinstance(exc, ClientAuthenticationError) and exc.response is None:
        # raised by a credential, before any request reached Azure
        return NotSignedInError(_first_line(exc))
    if isinstance(exc, HttpResponseError):
        return _from_http(exc)
    if isinstance(exc, ServiceRequestError | ServiceResponseError | ConnectionError | TimeoutError):
        return ConnectionLostError(
            message(QT_TR_NOOP("The request did not reach Azure: {reason}"),
                    reason=_first_line(exc)),
            request_id=_request_id_of(exc),
        )
    return AzureServiceError(_first_line(exc) or type(exc).__name__)


@contextmanager
def translated(
    *catch: type[BaseException],
) -> Iterator[None]:
    """Raises what the block raises as this module's error for its cause (``translate``).

    The one place the SDK's exceptions become ours. A ``with`` block holds ``await``s, so this
    serves async code as well; errors that already are ours pass through unchanged, and
    ``asyncio.CancelledError`` (a BaseException) is never caught. ``catch`` narrows what is
    translated (default: every Exception), for call sites that let other failures through.
    """
    types = catch or (Exception,)
    try:
        yield
    except AzureServiceError:
        raise
    except types as exc:
        raise translate(exc) from exc


def translating(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of ``translated`` for a whole function, plain or ``async def``.

    One signature serves both: for an ``async def`` ``R`` is its coroutine, and the wrapper
    returns a coroutine that translates while it runs.
    """
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
            with translated():
                return await function(*args, **kwargs)

        return cast(Callable[P, R], run_async)

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with translated():
            return function(*args, **kwargs)

    return run


def _from_http(exc: HttpResponseError) -> AzureServiceError:
    status = exc.status_code
    code, message = _error_body(exc)
    kwargs: dict[str, Any] = {"code": code, "status": status, "request_id": _request_id_of(exc)}
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return NotFoundError(message, **kwargs)
    if status == 401:
        return NotSignedInError(message, **kwargs)
    if status == 403:
        return PermissionDeniedError(message, **kwargs)
    if status == 409:
        return ConflictError(message, **kwargs)
    if status == 429:
        return ThrottledError(message, **kwargs)
    if status is not None and status >= 500:
        return ServiceUnavailableError(message, **kwargs)
    if status is not None and 400 <= status < 500:
        return InvalidRequestError(message, **kwargs)
    return AzureServiceError(message, **kwargs)


def _error_body(exc: HttpResponseError) -> tuple[str | None, str]:
    """ARM's ``{"error": {"code", "message"}}``; falls back to the exception text."""
    code: str | None = None
    message = ""
    error = getattr(exc, "error", None)
    if error is not None:
        code = getattr(error, "code", None)
        message = getattr(error, "message", None) or ""
    if not message and exc.response is not None:
        try:
            body = json.loads(exc.response.text())
        except Exception:  # the body is not JSON: keep the reason phrase
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = body["error"].get("code") or code
            message = body["error"].get("message") or ""
    if not message:
        message = _first_line(exc) or (exc.reason or "")
    return code, message


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else ""


def client_request_id(headers: Any) -> str | None:
    """The ``x-ms-client-request-id`` in a header mapping (any case), if there is one."""
    if headers is None:
        return None
    value = headers.get("x-ms-client-request-id")
    return str(value) if value else None


def _request_id_of(exc: BaseException) -> str | None:
    """The client request id of the request that failed (azure-core keeps it on the response)."""
    response = getattr(exc, "response", None)
    request = getattr(response, "request", None) if response is not None else None
    if request is None:
        request = getattr(exc, "request", None)  # a ServiceRequestError may carry the request
    found = client_request_id(getattr(request, "headers", None)) if request is not None else None
    if found is None and response is not None:
        found = client_request_id(getattr(response, "headers", None))
    return found
