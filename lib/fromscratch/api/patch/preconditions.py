"""Preconditions on a write: when does an update conflict?

kube-apiserver uses optimistic concurrency (the registry's ``Update`` in
``k8s.io/apiserver/pkg/registry/generic/registry/store.go``): a client reads
an object, changes it, and sends it back *with the resourceVersion it read*.

* If that resourceVersion is no longer the stored one, somebody else wrote in
  between: ``409 Conflict`` — "the object has been modified; please apply your
  changes to the latest version and try again".  The client re-reads and retries
  (client-go's ``RetryOnConflict``).
* If the update carries no resourceVersion (empty, or ``"0"``), it is an
  *unconditional* update: last writer wins.  (Most built-in kinds allow it.)
* A resourceVersion that is not a number is a client error, ``400``.

A PATCH is applied to the current object and written with its
resourceVersion, so it conflicts only when the patch itself names one.
"""

from __future__ import annotations

from fromscratch.exercises import pluggable


class InvalidResourceVersion(ValueError):
    """A resourceVersion that is not a non-negative integer."""


def parse_resource_version(value: str | int | None) -> int:
    """``""``/None -> 0; ``"42"`` -> 42; anything else -> :class:`InvalidResourceVersion`."""
    if value is None or value == "":
        return 0
    text = str(value)
    if not text.isdigit() or not text.isascii():
        raise InvalidResourceVersion(f"invalid resourceVersion {value!r}: must be an integer")
    return int(text)


@pluggable("update_conflicts")
def update_conflicts(stored_rv: str, submitted_rv: str | None) -> bool:
    """True when an update carrying ``submitted_rv`` must be refused with 409 Conflict.

    ``stored_rv`` is the resourceVersion the object has now.  Raises
    :class:`InvalidResourceVersion` for a resourceVersion that is not a number.
    """
    submitted = parse_resource_version(submitted_rv)
    if submitted == 0:
        return False  # unconditional update: last writer wins
    return submitted != parse_resource_version(stored_rv)
