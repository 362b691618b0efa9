"""Plausible mistakes for chapter 1, and the graded tests each must fail."""

WRONG = {
    # skips names it does not know: a typo silently starts a less isolated process
    "ch01_clone_flags": '''
def clone_flags(names) -> int:
    table = {"mnt": 0x00020000, "cgroup": 0x02000000, "uts": 0x04000000, "ipc": 0x08000000,
             "user": 0x10000000, "pid": 0x20000000, "net": 0x40000000, "time": 0x00000080}
    flags = 0
    for name in names:
        flags |= table.get(name, 0)
    return flags
''',
    # checks counts and ranges but not overlaps, which the kernel refuses with EINVAL
    "ch01_format_id_map": '''
def format_id_map(ranges) -> str:
    ranges = [tuple(r) for r in ranges]
    if not ranges or len(ranges) > 340:
        raise ValueError("an ID map needs 1 to 340 ranges")
    for inside, outside, count in ranges:
        if count < 1 or min(inside, outside) < 0 or max(inside, outside) + count > 2**32 - 1:
            raise ValueError("bad range")
    return "".join(f"{i} {o} {c}\\n" for i, o, c in ranges)
''',
    # the cable is plugged in but never switched on: no carrier, no ping
    "ch01_connect": '''
def connect(a, b, address_a, address_b, *, ifname_a="veth0", ifname_b="veth0"):
    a.add_veth(ifname_a, b, ifname_b)
    a.add_address(ifname_a, address_a)
    b.add_address(ifname_b, address_b)
''',
}

EXPECTED_FAILURES = {"ch01_test_clone_flags_unknown", "ch01_test_format_id_map_rules",
                     "ch01_test_connect_links", "ch01_test_connect_ping"}
