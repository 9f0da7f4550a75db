"""ARM errors as the real service reports them: a status and ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any


class ArmError(Exception):
    """Raised by a handler; the server turns it into Azure's error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.target = target
        self.details = details or []

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        if self.details:
            error["details"] = self.details
        return {"error": error}


def resource_not_found(resource_type: str, name: str, resource_group: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not "
        "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def resource_group_not_found(resource_group: str) -> ArmError:
    return ArmError(
        404, "ResourceGroupNotFound", f"Resource group '{resource_group}' could not be found."
    )


def subscription_not_found(subscription_id: str) -> ArmError:
    return ArmError(
        404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found."
    )


def artifact_not_found() -> ArmError:
    # What the platform image repository answers for any unknown publisher/offer/sku/version.
    return ArmError(404, "NotFound", "Artifact: VMImage was not found.")


def invalid_parameter(message: str, target: str | None = None) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target=target)


def operation_not_allowed(message: str) -> ArmError:
    """409: the resource exists but its state forbids the operation (ARM's OperationNotAllowed)."""
    return ArmError(409, "OperationNotAllowed", message)


def bad_request(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


def no_registered_provider(
    location: str,
    api_version: str,
    resource_type: str,
    *,
    supported_versions: tuple[str, ...] = (),
    supported_locations: tuple[str, ...] = (),
) -> ArmError:
    """ARM's 400 for an api-version (or location) the resource type is not served at; the lists,
    when given, are appended as ARM appends them (oldest version first, short location names)."""
    message = (
        f"No registered resource provider found for location '{location}' and API version "
        f"'{api_version}' for type '{resource_type}'."
    )
    if supported_versions:
        message += f" The supported api-versions are '{', '.join(supported_versions)}'."
    if supported_locations:
        message += f" The supported locations are '{', '.join(supported_locations)}'."
    return ArmError(400, "NoRegisteredProviderFound", message)


def invalid_api_version(api_version: str, supported_versions: tuple[str, ...]) -> ArmError:
    """ARM's own routes (subscriptions, locations, resource groups): newest version first, no
    spaces, as ARM lists them."""
    return ArmError(
        400,
        "InvalidApiVersionParameter",
        f"The api-version '{api_version}' is invalid. The supported versions are "
        f"'{','.join(reversed(supported_versions))}'.",
    )


def invalid_request_content(reason: str) -> ArmError:
    """The body could not be read into the operation's model (Json.NET's words in ``reason``)."""
    return ArmError(
        400,
        "InvalidRequestContent",
        f"The request content was invalid and could not be deserialized: '{reason}'",
    )


def required_parameter_missing(path: str) -> ArmError:
    """A property the operation's model requires was not sent (Compute's wording)."""
    return ArmError(
        400, "InvalidParameter", f"Required parameter '{path}' is missing (null).", target=path
    )


def location_required() -> ArmError:
    return ArmError(
        400, "LocationRequired", "The location property is required for this definition."
    )


def authorization_failed(action: str, scope: str, principal_id: str) -> ArmError:
    return ArmError(
        403,
        "AuthorizationFailed",
        f"The client '{principal_id}' with object id '{principal_id}' does not have "
        f"authorization to perform action '{action}' over scope '{scope}' or the scope is "
        "invalid. If access was recently granted, please refresh your credentials.",
    )
