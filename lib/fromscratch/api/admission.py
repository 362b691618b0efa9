"""Admission: a chain of mutating, then validating, functions every write passes.

Models kube-apiserver's admission control.  After a request is authenticated,
authorized, decoded and defaulted, each *mutating* admission function may
change the object (inject a sidecar, add a default); after validation, each
*validating* admission function may reject it.  Nothing is stored until the
whole chain agrees.  Later chapters plug functions in here: defaulting
policies, sidecar injection, quota.

One admission plugin is built in, as in every real cluster:
``NamespaceLifecycle`` refuses new objects in a namespace that does not exist
(404) or is being deleted (403).

Simplified: admission functions are Python callables, not webhooks; there is
no ``AdmissionReview`` round trip and no per-plugin configuration.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from fromscratch.api import errors

if TYPE_CHECKING:
    from fromscratch.api.auth import UserInfo
    from fromscratch.api.kinds import Kind

Operation = Literal["CREATE", "UPDATE", "DELETE"]


@dataclass
class AdmissionRequest:
    """What an admission function sees, like an ``AdmissionReview`` request."""

    operation: Operation
    kind: Kind
    namespace: str
    name: str
    object: dict[str, Any] | None
    old_object: dict[str, Any] | None = None
    subresource: str = ""
    user: UserInfo | None = None
    dry_run: bool = False


# a mutating function returns the changed object (or None after changing it in place)
MutatingFunction = Callable[[AdmissionRequest], "dict[str, Any] | None"]
# a validating function raises AdmissionDenied (or any errors.APIError) to reject
ValidatingFunction = Callable[[AdmissionRequest], None]


class AdmissionDenied(Exception):
    """Raised by an admission function to reject a request (answered with 403 Forbidden)."""


class AdmissionChain:
    """Named mutating and validating functions, run in the order they were added."""

    def __init__(self) -> None:
        self.mutating: list[tuple[str, MutatingFunction]] = []
        self.validating: list[tuple[str, ValidatingFunction]] = []

    def add_mutating(self, name: str, function: MutatingFunction) -> None:
        self.remove(name)
        self.mutating.append((name, function))

    def add_validating(self, name: str, function: ValidatingFunction) -> None:
        self.remove(name)
        self.validating.append((name, function))

    def remove(self, name: str) -> None:
        self.mutating = [(n, f) for n, f in self.mutating if n != name]
        self.validating = [(n, f) for n, f in self.validating if n != name]

    def names(self) -> list[str]:
        return [n for n, _ in self.mutating] + [n for n, _ in self.validating]

    def mutate(self, request: AdmissionRequest) -> dict[str, Any] | None:
        for name, function in self.mutating:
            # each function works on its own copy: a failing one leaves no half-done change
            if request.object is not None:
                draft = copy.deepcopy(request.object)
                request.object = draft
            result = _run(name, function, request)
            if isinstance(result, dict):
                request.object = result
        return request.object

    def validate(self, request: AdmissionRequest) -> None:
        for name, function in self.validating:
            _run(name, function, request)


def _run(name: str, function: Callable[[AdmissionRequest], Any], request: AdmissionRequest
         ) -> Any:
    try:
        return function(request)
    except errors.APIError:
        raise
    except AdmissionDenied as denied:
        what = request.kind.plural
        raise errors.forbidden_error(
            f'{what} "{request.name}" is forbidden: admission "{name}" denied the request: '
            f"{denied}", resource=what, name=request.name, group=request.kind.group) from None
    except Exception as err:  # a broken admission function must not crash the server
        raise errors.internal_error(f"admission {name!r} failed: {err}") from None
