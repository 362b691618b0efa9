"""Plug points: run a learner's function in place of the library's reference.

Every function a chapter asks the learner to write exists in the library as a
*reference implementation*, decorated with :func:`pluggable`.  The rest of the
library always calls the pluggable wrapper, so once a learner calls
:func:`use`, their own function is what isolates the process, parses the
quantity or reconciles the ReplicaSet — and they watch their own code drive
the running system::

    from fromscratch import exercises
    exercises.use(parse_quantity)          # my parse_quantity, everywhere
    ...
    exercises.use_reference("parse_quantity")   # back to the library's

Grading uses :func:`checking`: inside the block the learner's object must be
their own (not the reference, nor a thin wrapper around it) — any call to the
reference raises :class:`NotOwnWork`, so a learner who merely imports the
library's answer scores nothing for that exercise.

This is a plain registry; nothing here is specific to nbgrader.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class NotOwnWork(Exception):
    """The graded answer is (or calls) the library's reference implementation."""


class UnknownExercise(KeyError):
    """No pluggable reference is registered under that name."""

    def __str__(self) -> str:
        return f"no exercise plug point named {self.args[0]!r}; known: {', '.join(sorted(_REGISTRY))}"


@dataclass
class PlugPoint:
    """One replaceable function: the reference, and the learner's version if plugged."""

    name: str
    reference: Callable[..., Any]
    wrapper: Callable[..., Any]
    learner: Callable[..., Any] | None = None
    calls_to_learner: int = 0
    # names currently being graded: calling the reference is then forbidden
    blocked: bool = field(default=False)


_REGISTRY: dict[str, PlugPoint] = {}
_LOCK = threading.Lock()


def pluggable(name: str) -> Callable[[F], F]:
    """Register the decorated reference implementation under ``name``.

    The returned wrapper dispatches to the learner's function when one has been
    plugged in with :func:`use`, and to the reference otherwise.
    """

    def decorate(reference: F) -> F:
        if name in _REGISTRY:
            raise ValueError(f"plug point {name!r} is registered twice")

        @functools.wraps(reference)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            point = _REGISTRY[name]
            if point.learner is not None:
                point.calls_to_learner += 1
                return point.learner(*args, **kwargs)
            if point.blocked:
                raise NotOwnWork(
                    f"{name} called the library's reference implementation while your "
                    f"own {name} is being checked; write it yourself to get the marks"
                )
            return reference(*args, **kwargs)

        # subtle: functools.wraps exposes the reference as __wrapped__; hide it so
        # the grading block cannot be bypassed by calling the unwrapped function.
        del wrapper.__wrapped__
        wrapper.__fromscratch_plug_point__ = name  # type: ignore[attr-defined]
        _REGISTRY[name] = PlugPoint(name=name, reference=reference, wrapper=wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def _discover() -> None:
    """Import every ``fromscratch`` module, so each registers its plug points.

    Safe by design: importing a library module starts nothing (no threads, no processes).
    """
    import importlib
    import pkgutil

    import fromscratch

    for info in pkgutil.walk_packages(fromscratch.__path__, "fromscratch."):
        if not info.name.endswith("__main__"):
            try:
                importlib.import_module(info.name)
            except ImportError:
                continue  # an optional piece whose dependencies are missing here


def plug_point(name: str) -> PlugPoint:
    """The registered plug point ``name``, importing the library module that defines it."""
    if name not in _REGISTRY:
        _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownExercise(name) from None


def names() -> list[str]:
    """All plug point names in the library, sorted."""
    _discover()
    return sorted(_REGISTRY)


def _name_of(function: Callable[..., Any], name: str | None) -> str:
    chosen = name or getattr(function, "__name__", None)
    if not chosen:
        raise TypeError("pass name= for a callable without a __name__")
    return chosen


def _is_reference(point: PlugPoint, candidate: Callable[..., Any]) -> bool:
    if candidate is point.wrapper or candidate is point.reference:
        return True
    code = getattr(candidate, "__code__", None)
    return code is not None and code in (
        getattr(point.reference, "__code__", None),
        getattr(point.wrapper, "__code__", None),
    )


def use(function: Callable[..., Any], *, name: str | None = None) -> PlugPoint:
    """Plug ``function`` in: from now on the library calls it instead of the reference."""
    point = plug_point(_name_of(function, name))
    if _is_reference(point, function):
        raise NotOwnWork(f"that is the library's own {point.name}; pass your version")
    with _LOCK:
        point.learner = function
        point.calls_to_learner = 0
    return point


def use_reference(name: str) -> None:
    """Unplug the learner's version of ``name``: the library uses its reference again."""
    point = plug_point(name)
    with _LOCK:
        point.learner = None


def reset() -> None:
    """Unplug every learner function and lift every grading block."""
    with _LOCK:
        for point in _REGISTRY.values():
            point.learner = None
            point.blocked = False


@contextmanager
def using(function: Callable[..., Any], *, name: str | None = None) -> Iterator[PlugPoint]:
    """``with using(my_fn):`` — the learner's version only inside the block."""
    point = use(function, name=name)
    try:
        yield point
    finally:
        use_reference(point.name)


@contextmanager
def checking(candidate: Callable[..., Any], name: str | None = None) -> Iterator[Callable[..., Any]]:
    """Grade ``candidate`` as the learner's own version of plug point ``name``.

    Raises :class:`NotOwnWork` at once if ``candidate`` is the reference, and
    while the block runs any call to the reference raises too (a learner's
    function that just delegates to the library fails its tests).
    """
    point = plug_point(_name_of(candidate, name))
    if not callable(candidate):
        raise TypeError(f"{point.name} should be a function, got {type(candidate).__name__}")
    if _is_reference(point, candidate):
        raise NotOwnWork(
            f"{point.name} is the library's reference implementation, not yours: "
            "write the function in this notebook to get the marks"
        )
    with _LOCK:
        saved = (point.learner, point.blocked)
        point.learner, point.blocked = None, True
    try:
        yield candidate
    finally:
        with _LOCK:
            point.learner, point.blocked = saved
