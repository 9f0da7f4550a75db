"""Blob service errors with Azure Storage's XML body and ``x-ms-error-code`` header."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from xml.sax.saxutils import escape


class BlobError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = headers or {}

    def xml(self, request_id: str) -> bytes:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
        message = f"{self.message}\nRequestId:{request_id}\nTime:{now}"
        body = f"<Code>{escape(self.code)}</Code><Message>{escape(message)}</Message>"
        if self.detail:
            body += f"<AuthenticationErrorDetail>{escape(self.detail)}</AuthenticationErrorDetail>"
        return f'<?xml version="1.0" encoding="utf-8"?><Error>{body}</Error>'.encode()


def new_request_id() -> str:
    return str(uuid.uuid4())


AUTH_FAILED = (
    "Server failed to authenticate the request. Make sure the value of Authorization header is "
    "formed correctly including the signature."
)


def authentication_failed(detail: str) -> BlobError:
    return BlobError(403, "AuthenticationFailed", AUTH_FAILED, detail=detail)


def authorization_permission_mismatch() -> BlobError:
    return BlobError(
        403,
        "AuthorizationPermissionMismatch",
        "This request is not authorized to perform this operation using this permission.",
    )


def no_authentication() -> BlobError:
    return BlobError(
        401,
        "NoAuthenticationInformation",
        "Server failed to authenticate the request. Please refer to the information in the "
        "www-authenticate header.",
    )


def container_not_found() -> BlobError:
    return BlobError(404, "ContainerNotFound", "The specified container does not exist.")


def blob_not_found() -> BlobError:
    return BlobError(404, "BlobNotFound", "The specified blob does not exist.")


def account_not_found() -> BlobError:
    return BlobError(404, "ResourceNotFound", "The specified resource does not exist.")


def invalid_header(name: str, message: str | None = None) -> BlobError:
    err = BlobError(
        400,
        "InvalidHeaderValue",
        message or "The value for one of the HTTP headers is not in the correct format.",
    )
    err.headers["x-ms-invalid-header"] = name
    return err


def invalid_page_range() -> BlobError:
    return BlobError(416, "InvalidPageRange", "The page range specified is invalid.")


def request_body_too_large() -> BlobError:
    return BlobError(
        413,
        "RequestBodyTooLarge",
        "The request body is too large and exceeds the maximum permissible limit.",
    )
