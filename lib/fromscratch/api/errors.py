"""Kubernetes ``Status`` errors: every failure the API server reports.

Models ``k8s.io/apimachinery/pkg/api/errors``: an error is a ``Status`` object
(``kind: Status``, ``status: Failure``) whose ``code`` is the HTTP status and
whose ``reason`` is a machine-readable word (``NotFound``, ``AlreadyExists``,
``Conflict``, ``Invalid`` ...).  Clients branch on ``reason``, never on the
message text, so the reasons and codes here follow the API conventions:
https://kubernetes.io/docs/reference/using-api/api-concepts/#status-and-error-handling

``Invalid`` (422) carries ``details.causes``: one entry per bad field, with the
field path (``spec.containers[0].name``) and a reason such as
``FieldValueRequired`` — the shape ``field.ErrorList`` produces.

Simplified: messages follow the real ones closely but are not byte-identical
in every case; ``retryAfterSeconds`` is never set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# field.ErrorType -> (cause reason, message prefix), as in apimachinery/pkg/util/validation/field
FIELD_ERROR_TYPES: dict[str, tuple[str, str]] = {
    "required": ("FieldValueRequired", "Required value"),
    "invalid": ("FieldValueInvalid", "Invalid value"),
    "duplicate": ("FieldValueDuplicate", "Duplicate value"),
    "not_supported": ("FieldValueNotSupported", "Unsupported value"),
    "forbidden": ("FieldValueForbidden", "Forbidden"),
    "too_long": ("FieldValueTooLong", "Too long"),
    "type": ("FieldValueTypeInvalid", "Invalid value"),
}


@dataclass(frozen=True)
class FieldError:
    """One bad field, like apimachinery's ``field.Error``."""

    type: str  # a key of FIELD_ERROR_TYPES
    field: str  # JSON path, e.g. "spec.template.spec.containers[0].image"
    detail: str = ""
    value: Any = None
    has_value: bool = False

    def message(self) -> str:
        _, prefix = FIELD_ERROR_TYPES[self.type]
        text = prefix
        if self.has_value:
            text += f": {json.dumps(self.value, default=str)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def cause(self) -> dict[str, str]:
        reason, _ = FIELD_ERROR_TYPES[self.type]
        return {"reason": reason, "message": self.message(), "field": self.field}

    def __str__(self) -> str:
        return f"{self.field}: {self.message()}"


def required(field: str, detail: str = "") -> FieldError:
    return FieldError("required", field, detail)


def invalid_value(field: str, value: Any, detail: str) -> FieldError:
    return FieldError("invalid", field, detail, value, True)


def not_supported(field: str, value: Any, allowed: list[str]) -> FieldError:
    quoted = ", ".join(f'"{a}"' for a in allowed)
    return FieldError("not_supported", field, f"supported values: {quoted}", value, True)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError("forbidden", field, detail)


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError("duplicate", field, "", value, True)


class APIError(Exception):
    """An error the API server answers with a ``Status`` object."""

    def __init__(
        self, code: int, reason: str, message: str, *, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        """The ``Status`` object sent on the wire."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body

    def __repr__(self) -> str:
        return f"APIError({self.code}, {self.reason!r}, {self.message!r})"


def _qualified(resource: str, group: str) -> str:
    # error messages name "deployments.apps", but plain "pods" for the core group
    return f"{resource}.{group}" if group else resource


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": kind}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return details


def not_found(resource: str, name: str, group: str = "") -> APIError:
    message = f'{_qualified(resource, group)} "{name}" not found'
    return APIError(404, "NotFound", message, details=_details(name, group, resource))


def already_exists(resource: str, name: str, group: str = "") -> APIError:
    message = f'{_qualified(resource, group)} "{name}" already exists'
    return APIError(409, "AlreadyExists", message, details=_details(name, group, resource))


def conflict(resource: str, name: str, group: str = "", why: str = "") -> APIError:
    why = why or (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )
    message = f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}'
    return APIError(409, "Conflict", message, details=_details(name, group, resource))


def invalid(kind: str, name: str, errors: list[FieldError], group: str = "") -> APIError:
    """422 Invalid, with one ``details.causes`` entry per field error."""
    if len(errors) == 1:
        summary = str(errors[0])
    else:
        summary = "[" + ", ".join(str(e) for e in errors) + "]"
    details = _details(name, group, kind)
    details["causes"] = [e.cause() for e in errors]
    qualified_kind = f"{kind}.{group}" if group else kind
    message = f'{qualified_kind} "{name}" is invalid: {summary}'
    return APIError(422, "Invalid", message, details=details)


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def unauthorized(message: str = "Unauthorized") -> APIError:
    return APIError(401, "Unauthorized", message)


def forbidden_error(message: str, *, resource: str = "", name: str = "", group: str = "") -> APIError:
    details = _details(name, group, resource) if resource else None
    return APIError(403, "Forbidden", message, details=details)


def method_not_allowed(verb: str, resource: str) -> APIError:
    return APIError(405, "MethodNotAllowed",
                    f"the server does not allow this method on the requested resource "
                    f"({verb} {resource})")


def not_acceptable(accepted: str) -> APIError:
    return APIError(406, "NotAcceptable",
                    f"only the following media types are accepted: {accepted}")


def gone(message: str) -> APIError:
    """410 Gone with reason ``Expired``: a resourceVersion older than the watch history."""
    return APIError(410, "Expired", message)


def too_large(limit: int) -> APIError:
    return APIError(413, "RequestEntityTooLarge",
                    f"the request body is larger than the server accepts ({limit} bytes)")


def unsupported_media_type(content_type: str, supported: list[str]) -> APIError:
    return APIError(415, "UnsupportedMediaType",
                    f"the body of the request was in an unknown format ({content_type!r}); "
                    f"accepted media types include: {', '.join(supported)}")


def internal_error(message: str) -> APIError:
    return APIError(500, "InternalError", f"Internal error occurred: {message}")


def success_status(details: dict[str, Any] | None = None) -> dict[str, Any]:
    """``status: Success`` — what some deletes and deletecollection return."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Success"}
    if details:
        body["details"] = details
    return body
