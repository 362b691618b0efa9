# %% [markdown]
# # Exercises 1 — Namespaces
#
# Four functions a container runtime is made of. Each one is plugged into the running library
# after you write it, so *your* code decides which namespaces the kernel creates, what a
# container sees, how IDs are mapped and how network namespaces are wired.
#
# | exercise | you write | the library uses it in |
# |---|---|---|
# | 1 | `clone_flags(names)` | `linux/spawn.py`: the flags passed to `unshare(2)` |
# | 2 | `start_container(target, hostname)` | the chapter's container demo |
# | 3 | `format_id_map(ranges)` | `linux/userns.py`: what is written to `/proc/PID/uid_map` |
# | 4 | `connect(a, b, address_a, address_b)` | `switched_network` and later the cluster's nodes |
#
# The tests check the kernel's state — namespace inodes, `NSpid`, `uid_map`, links — not what
# your functions print. In simulated mode they check the simulated kernel the same way.

# %%
import os

import pytest

from fromscratch import exercises, host
from fromscratch import namespaces as ns

mode = host.show_mode()

# %% [markdown]
# ## Exercise 1 — `clone_flags` (3 points)
#
# `unshare(2)` takes one integer: the OR of a `CLONE_NEW*` bit per namespace. From
# `<linux/sched.h>`:
#
# | name | flag | value |
# |---|---|---|
# | `mnt` | `CLONE_NEWNS` | `0x00020000` |
# | `cgroup` | `CLONE_NEWCGROUP` | `0x02000000` |
# | `uts` | `CLONE_NEWUTS` | `0x04000000` |
# | `ipc` | `CLONE_NEWIPC` | `0x08000000` |
# | `user` | `CLONE_NEWUSER` | `0x10000000` |
# | `pid` | `CLONE_NEWPID` | `0x20000000` |
# | `net` | `CLONE_NEWNET` | `0x40000000` |
# | `time` | `CLONE_NEWTIME` | `0x00000080` |
#
# Write `clone_flags(names)`: any iterable of names in, the flags out. No names gives 0. An
# unknown name must raise `ValueError` naming it — silently dropping a typo like `"pdi"` would
# start a "container" that shares the host's PIDs.

# %% nbgrader={"grade_id": "ch01_clone_flags", "solution": true}
def clone_flags(names) -> int:
    """The CLONE_NEW* bits for the namespace names, OR-ed together."""
    ### BEGIN SOLUTION
    table = {"mnt": 0x00020000, "cgroup": 0x02000000, "uts": 0x04000000, "ipc": 0x08000000,
             "user": 0x10000000, "pid": 0x20000000, "net": 0x40000000, "time": 0x00000080}
    if isinstance(names, str):
        names = [names]
    flags = 0
    for name in names:
        if name not in table:
            raise ValueError(f"unknown namespace {name!r}")
        flags |= table[name]
    return flags
    ### END SOLUTION


# %% [markdown]
# The first test checks the arithmetic against the table above.

# %% nbgrader={"grade_id": "ch01_test_clone_flags_values", "grade": true, "points": 1}
with exercises.checking(clone_flags):
    assert clone_flags({"pid"}) == 0x20000000
    assert clone_flags({"pid", "uts"}) == 0x24000000
    assert clone_flags([]) == 0
    ### BEGIN HIDDEN TESTS
    every = ["mnt", "cgroup", "uts", "ipc", "user", "pid", "net", "time"]
    assert clone_flags(every) == 0x7E020080
    assert clone_flags(iter(["net", "mnt"])) == 0x40020000
    assert clone_flags(("ipc",)) == 0x08000000
    ### END HIDDEN TESTS

# %% [markdown]
# The second test feeds in names that are not namespaces; each must raise `ValueError`.

# %% nbgrader={"grade_id": "ch01_test_clone_flags_unknown", "grade": true, "points": 1}
with exercises.checking(clone_flags):
    with pytest.raises(ValueError):
        clone_flags({"pid", "pdi"})
    ### BEGIN HIDDEN TESTS
    for bad in (["network"], ["PID"], ["pid", ""], [None]):
        with pytest.raises(ValueError):
            clone_flags(bad)
    ### END HIDDEN TESTS

# %% [markdown]
# The third test plugs your function into `spawn` and asks the kernel what it created: the
# namespaces you asked for must have new inodes, the others must be shared with us.

# %% nbgrader={"grade_id": "ch01_test_clone_flags_in_kernel", "grade": true, "points": 1}
with exercises.checking(clone_flags):
    with exercises.using(clone_flags):
        with ns.spawn(lambda: ns.pause(10), namespaces={"uts", "ipc"}) as box:
            theirs, ours = box.namespace_ids(), ns.namespace_ids()
    assert theirs["uts"] != ours["uts"] and theirs["ipc"] != ours["ipc"]
    ### BEGIN HIDDEN TESTS
    assert theirs["pid"] == ours["pid"] and theirs["mnt"] == ours["mnt"]
    with exercises.using(clone_flags):
        with ns.spawn(lambda: ns.pause(10), namespaces={"pid", "mnt"}) as box:
            assert ns.nspid(box.pid)[-1] == 1
            theirs = box.namespace_ids()
    assert theirs["pid"] != ours["pid"] and theirs["mnt"] != ours["mnt"]
    assert theirs["uts"] == ours["uts"]
    ### END HIDDEN TESTS

# %% [markdown]
# **Your flags, driving the kernel.** From now on every `spawn` in this notebook calls your
# `clone_flags`:

# %%
point = exercises.use(clone_flags)
print(ns.run(lambda: (ns.getpid(), ns.gethostname()), namespaces={"pid", "uts"},
             hostname="made-with-my-flags"))
print("calls to your clone_flags:", point.calls_to_learner)

# %% [markdown]
# ## Exercise 2 — `start_container` (3 points)
#
# Put the pieces together: start `target` (a callable) in **new PID, UTS, mount and IPC
# namespaces**, with the given hostname, and return the running process (what `ns.spawn`
# returns). Because `pid` and `mnt` are both new, `spawn` mounts a fresh `/proc`, so inside,
# `ns.getpid()` is 1 and `ns.pids()` is `[1]`.

# %% nbgrader={"grade_id": "ch01_start_container", "solution": true}
def start_container(target, hostname: str):
    """Start target in new pid, uts, mnt and ipc namespaces with this hostname; return it."""
    ### BEGIN SOLUTION
    return ns.spawn(target, namespaces={"pid", "uts", "mnt", "ipc"}, hostname=hostname)
    ### END SOLUTION


# %% [markdown]
# First: what does the container see? Its own hostname, PID 1, and only itself in `ps`.

# %% nbgrader={"grade_id": "ch01_test_start_container_view", "grade": true, "points": 1}
with exercises.checking(start_container):
    with start_container(lambda: (ns.gethostname(), ns.getpid(), ns.pids()), "web") as box:
        assert box.result(timeout=10) == ("web", 1, [1])
    ### BEGIN HIDDEN TESTS
    with start_container(lambda: ns.gethostname(), "db-0") as box:
        assert box.result(timeout=10) == "db-0"
    ### END HIDDEN TESTS

# %% [markdown]
# Then the kernel's side, from outside: `NSpid` says PID 1 inside, the four namespaces are new,
# the network is still ours, and the host's hostname did not change.

# %% nbgrader={"grade_id": "ch01_test_start_container_kernel", "grade": true, "points": 2}
with exercises.checking(start_container):
    outside = ns.gethostname()
    with start_container(lambda: ns.pause(10), "web") as box:
        assert ns.nspid(box.pid)[-1] == 1
        ### BEGIN HIDDEN TESTS
        assert len(ns.nspid(box.pid)) == len(ns.nspid(ns.getpid())) + 1
        theirs, ours = box.namespace_ids(), ns.namespace_ids()
        for kind in ("pid", "uts", "mnt", "ipc"):
            assert theirs[kind] != ours[kind], f"{kind} namespace is not new"
        assert theirs["net"] == ours["net"]
        assert ns.hostname_of(box.pid) == "web"
        ### END HIDDEN TESTS
    assert ns.gethostname() == outside

# %% [markdown]
# **Your containers.** Plug it in and start three; each believes it is alone.

# %%
exercises.use(start_container)
boxes = [ns.start_container(lambda: (ns.gethostname(), ns.getpid(), ns.pids()), f"box-{i}")
         for i in range(3)]
for box in boxes:
    with box:
        print(f"host PID {box.pid:>6} ->", box.result(timeout=10))

# %% [markdown]
# ## Exercise 3 — `format_id_map` (4 points)
#
# A user namespace's ID maps are written to `/proc/PID/uid_map` and `gid_map` as lines
# `inside outside count`, all in **one** `write(2)`. Write `format_id_map(ranges)`: a list of
# `(inside, outside, count)` tuples in, the text (each line ending in `\n`) out. The kernel
# rejects a bad map with a bare `EINVAL`; yours should raise `ValueError` saying why, for
# (see `user_namespaces(7)`):
#
# - no ranges at all, or more than **340**;
# - a `count` below 1;
# - an ID below 0, or a range reaching `4294967295` (`(uid_t) -1`, which is never mappable);
# - ranges that **overlap**, either inside or outside the namespace.

# %% nbgrader={"grade_id": "ch01_format_id_map", "solution": true}
def format_id_map(ranges) -> str:
    """The uid_map/gid_map text for (inside, outside, count) ranges, checked like the kernel."""
    ### BEGIN SOLUTION
    ranges = [tuple(r) for r in ranges]
    if not ranges or len(ranges) > 340:
        raise ValueError("an ID map needs 1 to 340 ranges")
    for inside, outside, count in ranges:
        if count < 1:
            raise ValueError(f"count must be at least 1 in {(inside, outside, count)}")
        if min(inside, outside) < 0 or max(inside, outside) + count - 1 >= 2**32 - 1:
            raise ValueError(f"IDs out of range in {(inside, outside, count)}")
    for side in (0, 1):
        spans = sorted((r[side], r[side] + r[2]) for r in ranges)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            if start < end:
                raise ValueError("ranges overlap")
    return "".join(f"{i} {o} {c}\n" for i, o, c in ranges)
    ### END SOLUTION


# %% [markdown]
# The format first: one line per range, in order.

# %% nbgrader={"grade_id": "ch01_test_format_id_map_lines", "grade": true, "points": 1}
with exercises.checking(format_id_map):
    assert format_id_map([(0, 1000, 1)]) == "0 1000 1\n"
    assert format_id_map([(0, 100000, 65536)]) == "0 100000 65536\n"
    ### BEGIN HIDDEN TESTS
    assert format_id_map([(0, 100000, 1000), (1000, 1000, 1)]) == "0 100000 1000\n1000 1000 1\n"
    assert len(format_id_map([(i, 5000 + i, 1) for i in range(340)]).splitlines()) == 340
    assert format_id_map([(0, 0, 4294967295)]) == "0 0 4294967295\n"
    ### END HIDDEN TESTS

# %% [markdown]
# Then the kernel's rules. Each of these maps would be refused by the kernel.

# %% nbgrader={"grade_id": "ch01_test_format_id_map_rules", "grade": true, "points": 2}
with exercises.checking(format_id_map):
    with pytest.raises(ValueError):
        format_id_map([(0, 1000, 0)])
    with pytest.raises(ValueError):
        format_id_map([(0, 1000, 10), (5, 2000, 10)])
    ### BEGIN HIDDEN TESTS
    for bad in ([], [(0, 1000, -1)], [(-1, 1000, 1)], [(0, 4294967295, 1)],
                [(0, 1000, 10), (100, 1009, 5)], [(10, 1, 1), (0, 2, 11)],
                [(i, 5000 + i, 1) for i in range(341)]):
        with pytest.raises(ValueError):
            format_id_map(bad)
    ### END HIDDEN TESTS

# %% [markdown]
# Finally the kernel itself: plugged in, your text is what `spawn` writes for a new user
# namespace. Inside we must be root, and `/proc/PID/uid_map` must read back as written.

# %% nbgrader={"grade_id": "ch01_test_format_id_map_in_kernel", "grade": true, "points": 1}
with exercises.checking(format_id_map):
    me = os.getuid() if mode != "simulated" else 0
    with exercises.using(format_id_map):
        with ns.spawn(lambda: (ns.getuid(), ns.pause(10)), namespaces={"user"},
                      uid_map=[(0, me, 1)], gid_map=[(0, me, 1)]) as box:
            assert ns.read_id_map(box.pid) == [(0, me, 1)]
            ### BEGIN HIDDEN TESTS
            assert ns.read_id_map(box.pid, "gid") == [(0, me, 1)]
            ### END HIDDEN TESTS
        ### BEGIN HIDDEN TESTS
        assert ns.run(ns.getuid, namespaces={"user"}, uid_map=[(0, me, 1)],
                      gid_map=[(0, me, 1)]) == 0
        with pytest.raises(ValueError):
            ns.spawn(lambda: None, namespaces={"user"}, uid_map=[(0, me, 0)])
        ### END HIDDEN TESTS

# %% [markdown]
# **Your maps, in the kernel.** Root inside, and an unmapped ID shows up as `nobody`:

# %%
exercises.use(format_id_map)
print("mapped  :", ns.run(ns.getuid, namespaces={"user"}))
print("unmapped:", ns.run(ns.getuid, namespaces={"user"}, uid_map=[(0, 4000000, 10)],
                          gid_map=[(0, 4000000, 10)]))

# %% [markdown]
# ## Exercise 4 — `connect` (4 points)
#
# Join two network namespaces with a **veth pair** and give each end an address. Use the methods
# of the namespace objects (`ns.NetworkNamespace(name)`):
#
# - `a.add_veth(ifname, b, peer_ifname)` — one end in `a`, the other created directly in `b`;
# - `x.add_address(ifname, "10.0.0.1/24")`;
# - `x.set_up(ifname)`.
#
# `address_a` and `address_b` are CIDRs; if they are not in the same subnet the two could never
# talk without a router, so raise `ValueError` *before creating anything*. (The `ipaddress`
# module's `ip_interface(...).network` helps.)

# %% nbgrader={"grade_id": "ch01_connect", "solution": true}
import ipaddress


def connect(a, b, address_a: str, address_b: str, *, ifname_a: str = "veth0",
            ifname_b: str = "veth0") -> None:
    """A veth pair between namespaces a and b, an address on each end, both up."""
    ### BEGIN SOLUTION
    if ipaddress.ip_interface(address_a).network != ipaddress.ip_interface(address_b).network:
        raise ValueError(f"{address_a} and {address_b} are not in the same subnet")
    a.add_veth(ifname_a, b, ifname_b)
    a.add_address(ifname_a, address_a)
    b.add_address(ifname_b, address_b)
    a.set_up(ifname_a)
    b.set_up(ifname_b)
    ### END SOLUTION


# %% [markdown]
# The test makes two namespaces, calls your `connect`, and reads the links back from each
# namespace (through netlink in real mode): a veth on each side, up, with its address.

# %% nbgrader={"grade_id": "ch01_test_connect_links", "grade": true, "points": 2}
tag = os.getpid() % 100000
with exercises.checking(connect):
    with ns.NetworkNamespace(f"ex-a-{tag}") as a, ns.NetworkNamespace(f"ex-b-{tag}") as b:
        connect(a, b, "10.30.0.1/24", "10.30.0.2/24")
        assert a.link("veth0").kind == "veth" and a.link("veth0").up
        assert a.link("veth0").addresses == ["10.30.0.1/24"]
        assert b.link("veth0").addresses == ["10.30.0.2/24"]
        ### BEGIN HIDDEN TESTS
        assert b.link("veth0").kind == "veth" and b.link("veth0").up
        ### END HIDDEN TESTS
    ### BEGIN HIDDEN TESTS
    with ns.NetworkNamespace(f"ex-c-{tag}") as c, ns.NetworkNamespace(f"ex-d-{tag}") as d:
        connect(c, d, "192.168.7.9/30", "192.168.7.10/30", ifname_a="left", ifname_b="right")
        assert c.link("left").addresses == ["192.168.7.9/30"]
        assert d.link("right").up
        with pytest.raises(ValueError):
            connect(c, d, "10.1.0.1/24", "10.2.0.1/24", ifname_a="x1", ifname_b="y1")
        assert [link.name for link in c.links()] == ["lo", "left"], "created links before failing"
    ### END HIDDEN TESTS

# %% [markdown]
# And the real proof: a ping crosses your cable, both ways.

# %% nbgrader={"grade_id": "ch01_test_connect_ping", "grade": true, "points": 2}
with exercises.checking(connect):
    with ns.NetworkNamespace(f"ex-a-{tag}") as a, ns.NetworkNamespace(f"ex-b-{tag}") as b:
        connect(a, b, "10.31.0.1/24", "10.31.0.2/24")
        assert len(a.ping("10.31.0.2")) == 1
        ### BEGIN HIDDEN TESTS
        assert len(b.ping("10.31.0.1", count=2)) == 2
        with pytest.raises(TimeoutError):
            a.ping("10.31.0.3", timeout=0.3)
        ### END HIDDEN TESTS

# %% [markdown]
# **Your cables, in a switched network.** `switched_network` wires each node to a bridge; with
# your `connect` plugged in, the library's own `connect` is yours too.

# %%
exercises.use(connect)
with ns.NetworkNamespace(f"left-{tag}") as left, ns.NetworkNamespace(f"right-{tag}") as right:
    ns.connect(left, right, "10.40.0.1/24", "10.40.0.2/24")
    print("left -> right:", [f"{ms:.3f} ms" for ms in left.ping("10.40.0.2", count=3)])
print("calls to your connect:", exercises.plug_point("connect").calls_to_learner)
exercises.reset()

# %% [markdown]
# ## Done
#
# You computed the flags that make namespaces, started a process that believes it is alone,
# mapped users for rootless containers, and wired two network stacks together. Chapter 2 adds
# the missing half of a container: **cgroups**, which limit what a process may use.
