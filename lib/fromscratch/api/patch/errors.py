"""The one exception every patch flavour raises."""

from __future__ import annotations


class PatchError(ValueError):
    """A patch that cannot be applied or computed; the message names the problem.

    The API server turns it into a ``Status`` (``422 Invalid`` for a patch that
    does not fit the object, ``409 Conflict`` for a failed JSON Patch ``test``,
    ``400 BadRequest`` for one that is not even well formed).
    """

    def __init__(self, message: str, *, reason: str = "Invalid") -> None:
        super().__init__(message)
        self.reason = reason
