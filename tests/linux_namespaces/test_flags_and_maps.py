"""Clone flags for namespace names, and the kernel's rules for uid_map/gid_map lines."""

from __future__ import annotations

import pytest

from fromscratch.linux import syscalls
from fromscratch.linux.namespaces import UnknownNamespace, check_names, clone_flags, names_of
from fromscratch.linux.userns import format_id_map, parse_id_map

# values from <linux/sched.h>
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x4000000, 0x20000000, 0x40000000


def test_clone_flags_match_linux_sched_h() -> None:
    # each name maps to its CLONE_NEW* bit, OR-ed together
    assert clone_flags({"pid", "uts"}) == CLONE_NEWPID | CLONE_NEWUTS
    assert clone_flags(["mnt", "net"]) == CLONE_NEWNS | CLONE_NEWNET
    assert clone_flags([]) == 0


def test_all_eight_namespaces_have_distinct_bits() -> None:
    # namespaces(7) lists eight kinds; no two share a bit
    every = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"]
    assert bin(clone_flags(every)).count("1") == 8
    assert names_of(clone_flags(every)) == frozenset(every)


def test_unknown_namespace_name_is_named_in_the_error() -> None:
    # a typo must not silently create fewer namespaces than asked
    with pytest.raises(UnknownNamespace, match="'pdi'"):
        clone_flags({"pid", "pdi"})
    with pytest.raises(ValueError, match="known: mnt"):
        check_names(["network"])


def test_bare_string_means_one_namespace_not_its_letters() -> None:
    # "pid" is one name, not {"p", "i", "d"}
    assert check_names("pid") == frozenset({"pid"})


def test_names_of_rejects_bits_that_are_not_namespaces() -> None:
    with pytest.raises(ValueError, match="not namespaces"):
        names_of(CLONE_NEWPID | 0x1)


def test_describe_flags_names_each_bit_for_error_messages() -> None:
    assert syscalls.describe_flags(CLONE_NEWPID | CLONE_NEWUTS) == "CLONE_NEWUTS|CLONE_NEWPID"


def test_id_map_line_is_inside_outside_count() -> None:
    # user_namespaces(7): "ID-inside-ns ID-outside-ns length"
    assert format_id_map([(0, 1000, 1)]) == "0 1000 1\n"
    assert format_id_map([(0, 100000, 65536), (65536, 1000, 1)]) == (
        "0 100000 65536\n65536 1000 1\n")


@pytest.mark.parametrize("ranges, problem", [
    ([], "at least one range"),
    ([(0, 1000, 0)], "count must be at least 1"),
    ([(0, 1000, -5)], "count must be at least 1"),
    ([(-1, 1000, 1)], "within 0"),
    ([(0, 2**32 - 1, 1)], "within 0"),  # (uid_t) -1 is never mappable
    ([(0, 1000, 10), (5, 2000, 10)], "overlap inside"),
    ([(0, 1000, 10), (100, 1005, 1)], "overlap outside"),
    ([(0, 1000)], "inside, outside, count"),
    ([(0, "1000", 1)], "integers"),
    ([(i, 10000 + i, 1) for i in range(341)], "at most 340"),
])
def test_id_map_follows_the_kernels_rules(ranges: list, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        format_id_map(ranges)


def test_id_map_accepts_340_lines() -> None:
    # Linux 4.15 raised the limit from 5 to 340 lines
    text = format_id_map([(i, 10000 + i, 1) for i in range(340)])
    assert len(text.splitlines()) == 340


def test_parse_reads_the_kernels_padded_format() -> None:
    # the kernel pads columns with spaces when it prints a map back
    assert parse_id_map("         0       1000          1\n") == [(0, 1000, 1)]
