"""User namespaces: ``uid_map`` and ``gid_map``, root inside without root outside.

A new user namespace starts with *no* IDs mapped: its process shows up as
``nobody`` (65534, the overflow ID) until someone writes the maps.  Each line of
``/proc/PID/uid_map`` is ``ID-inside-ns ID-outside-ns length`` (user_namespaces(7)):
``0 1000 1`` makes uid 1000 outside appear as root inside.  The kernel's rules,
which :func:`format_id_map` checks before we write:

- at most 340 lines (Linux 4.15+; 5 before), each ``length`` at least 1;
- IDs are 32-bit and ``4294967295`` (``(uid_t) -1``) is never mappable;
- ranges must not overlap, neither inside nor outside;
- a map is written once, in one ``write(2)``, by a process with
  ``CAP_SETUID`` (``CAP_SETGID``) in the parent namespace — or by the process
  itself for the single line mapping its own ID (the rootless case), and then
  ``setgroups`` must be ``deny`` before ``gid_map`` can be written.

Simplified: we do not use ``newuidmap(1)``/``/etc/subuid``, so an unprivileged
user can map only their own ID (rootless Podman uses newuidmap for ranges).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from fromscratch import exercises
from fromscratch.linux import proc

IdRange = tuple[int, int, int]  # (inside, outside, count)
MAX_LINES = 340
MAX_ID = 2**32 - 1  # (uid_t) -1 is "no ID" and cannot be mapped
OVERFLOW_ID = 65534  # what unmapped IDs show up as (/proc/sys/kernel/overflowuid)


def _overlaps(ranges: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    ordered = sorted(ranges)
    for (start_a, count_a), (start_b, _) in zip(ordered, ordered[1:], strict=False):
        if start_a + count_a > start_b:
            return start_a, start_b
    return None


@exercises.pluggable("format_id_map")
def format_id_map(ranges: Iterable[IdRange]) -> str:
    """The text to write to ``uid_map``/``gid_map`` for ``(inside, outside, count)`` ranges.

    ``format_id_map([(0, 1000, 1)]) == "0 1000 1\\n"``.  Raises ValueError for an
    empty map, more than 340 ranges, a count below 1, IDs outside 0..2**32-2,
    or ranges that overlap inside or outside — the kernel's own rules.
    """
    lines = []
    checked: list[IdRange] = []
    for entry in ranges:
        if len(entry) != 3:
            raise ValueError(f"a map range is (inside, outside, count), got {entry!r}")
        inside, outside, count = entry
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in entry):
            raise ValueError(f"map range values must be integers, got {entry!r}")
        if count < 1:
            raise ValueError(f"range {entry}: count must be at least 1")
        for start in (inside, outside):
            if start < 0 or start + count - 1 >= MAX_ID:
                raise ValueError(f"range {entry}: IDs must lie within 0..{MAX_ID - 1}")
        checked.append((inside, outside, count))
        lines.append(f"{inside} {outside} {count}\n")
    if not checked:
        raise ValueError("an ID map needs at least one range")
    if len(checked) > MAX_LINES:
        raise ValueError(f"an ID map holds at most {MAX_LINES} ranges, got {len(checked)}")
    for side, index in (("inside", 0), ("outside", 1)):
        clash = _overlaps([(r[index], r[2]) for r in checked])
        if clash:
            raise ValueError(f"ranges overlap {side} the namespace (starting at {clash[0]} "
                             f"and {clash[1]})")
    return "".join(lines)


def rootless_map(outside: int | None = None) -> list[IdRange]:
    """The one mapping an unprivileged user may write: root inside = me outside."""
    return [(0, os.geteuid() if outside is None else outside, 1)]


def parse_id_map(text: str) -> list[IdRange]:
    """Read the kernel's formatted map back into ``(inside, outside, count)`` tuples."""
    result = []
    for line in text.splitlines():
        if line.strip():
            inside, outside, count = (int(v) for v in line.split())
            result.append((inside, outside, count))
    return result


def read_id_map(pid: int | str, kind: str = "uid") -> list[IdRange]:
    """``/proc/PID/uid_map`` (``kind="uid"``) or ``gid_map`` as tuples."""
    if kind not in ("uid", "gid"):
        raise ValueError(f"kind must be 'uid' or 'gid', not {kind!r}")
    proc.ns_link(pid, "user")  # raises ProcessNotFound for a dead PID
    with open(f"/proc/{pid}/{kind}_map") as handle:
        return parse_id_map(handle.read())


def _write_once(path: str, text: str) -> None:
    # subtle: the kernel wants the whole map in a single write(2); a buffered
    # file object could split it, so write through the raw descriptor.
    fd = os.open(path, os.O_WRONLY)
    try:
        written = os.write(fd, text.encode())
        if written != len(text.encode()):
            raise OSError(f"short write to {path}")
    finally:
        os.close(fd)


def write_id_maps(pid: int | str, uid_map: Iterable[IdRange], gid_map: Iterable[IdRange],
                  *, deny_setgroups: bool | None = None) -> None:
    """Write the uid and gid maps of process ``pid``'s (fresh) user namespace.

    ``deny_setgroups`` defaults to True when we are unprivileged, which the
    kernel requires before an unprivileged ``gid_map`` write (since Linux 3.19).
    """
    uid_text, gid_text = format_id_map(uid_map), format_id_map(gid_map)
    proc.ns_link(pid, "user")
    if deny_setgroups is None:
        deny_setgroups = os.geteuid() != 0
    try:
        _write_once(f"/proc/{pid}/uid_map", uid_text)
        if deny_setgroups:
            _write_once(f"/proc/{pid}/setgroups", "deny")
        _write_once(f"/proc/{pid}/gid_map", gid_text)
    except PermissionError as err:
        raise PermissionError(
            err.errno, f"not allowed to write the ID maps of process {pid} "
            f"(uid_map {uid_text.strip()!r}); without CAP_SETUID only one's own ID "
            "can be mapped") from None
