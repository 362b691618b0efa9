"""Detecting the cgroup layout from mountinfo: v1, v2 and hybrid hosts."""

from __future__ import annotations

from fromscratch import host
from fromscratch.linux.cgroups import pick_version
from fromscratch.linux.cgroups_detect import CgroupLayout, detect, parse_mountinfo

# three real machines' /proc/self/mountinfo, trimmed to the cgroup lines
HYBRID = """\
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd
35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct
36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:16 - cgroup cgroup rw,memory
37 30 0:33 / /sys/fs/cgroup/pids rw,nosuid shared:17 - cgroup cgroup rw,pids
"""
UNIFIED = """\
29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:4 - cgroup2 cgroup2 rw,nsdelegate
"""
V1_ONLY = """\
35 30 0:31 / /cgroup/cpu rw - cgroup cgroup rw,cpu
36 30 0:32 / /cgroup/mem\\040ory rw - cgroup none rw,memory
"""


def test_hybrid_host_maps_comounted_controllers_to_one_directory():
    # co-mounted "cpu,cpuacct" is one hierarchy: both names point at the same directory
    v1, v2 = parse_mountinfo(HYBRID)
    assert v1["cpu"] == v1["cpuacct"] == "/sys/fs/cgroup/cpu,cpuacct"
    assert v1["memory"] == "/sys/fs/cgroup/memory"
    assert v1["name=systemd"] == "/sys/fs/cgroup/systemd"
    assert "xattr" not in v1 and "rw" not in v1
    assert v2 == "/sys/fs/cgroup/unified"
    assert CgroupLayout(v1=v1, v2_mount=v2).version == "hybrid"


def test_unified_host_is_v2():
    v1, v2 = parse_mountinfo(UNIFIED)
    layout = CgroupLayout(v1=v1, v2_mount=v2, v2_controllers=frozenset({"cpu", "memory", "pids"}))
    assert layout.version == "v2"
    assert pick_version(layout) == 2
    assert layout.controller_version("memory") == 2


def test_v1_only_host_and_escaped_mount_points():
    # mountinfo writes a space in a path as \\040
    v1, v2 = parse_mountinfo(V1_ONLY)
    assert v1 == {"cpu": "/cgroup/cpu", "memory": "/cgroup/mem ory"}
    assert v2 is None
    assert CgroupLayout(v1=v1).version == "v1"


def test_controllers_bound_to_v1_win_on_a_hybrid_host():
    # a controller used by a v1 hierarchy is not available on v2 at the same time
    v1, v2 = parse_mountinfo(HYBRID)
    layout = CgroupLayout(v1=v1, v2_mount=v2, v2_controllers=frozenset())
    assert pick_version(layout) == 1
    assert layout.controller_version("pids") == 1
    assert layout.controller_version("hugetlb") is None


def test_no_cgroups_at_all():
    assert CgroupLayout().version is None
    assert pick_version(CgroupLayout()) is None


def test_detect_agrees_with_the_host_probe():
    # two independent readings of this machine (mountinfo here, /proc/self/mounts in host)
    layout, report = detect(), host.probe()
    assert layout.version == report.cgroup_version
    assert sorted(c for c in layout.v1 if not c.startswith("name=")) == sorted(
        c for c in report.cgroup_v1_controllers if not c.startswith("name="))
    assert layout.v2_mount == report.cgroup_v2_mount
