# %% [markdown]
# # Chapter 1 — Namespaces: a process that sees its own world
#
# **What you will build and see.** A container is not a little virtual machine. It is an
# ordinary Linux process, started with a set of *namespace* parameters: when Docker creates a
# container, it asks the kernel to give the new process its own hostname, its own process
# numbers, its own mount table, its own network stack. The process that the host calls PID 100
# believes it is PID 1. In this chapter you watch that happen, with real system calls, and by the
# end of the exercises your own code does the isolating.
#
# **Before you start.** Chapter 0 (how the course runs, what *real*, *rootless* and *simulated*
# modes are). Some comfort with processes (`fork`, `exec`, PIDs) helps; nothing else is assumed.
#
# **Where the code lives.** `fromscratch/namespaces.py` is the one API used below; it picks a
# backend. The real one is in `fromscratch/linux/`: `syscalls.py` (ctypes wrappers for `unshare`,
# `setns`, `mount`, `sethostname`), `spawn.py` (start a process in new namespaces — the heart of a
# container runtime), `pidns.py` (a tiny init), `userns.py` (uid maps), `proc.py` (reading `/proc`)
# and `netns.py` (network namespaces with pyroute2). The simulated kernel is in
# `fromscratch/sim/namespaces.py` and `fromscratch/sim/netns.py`.

# %%
from fromscratch import host

mode = host.show_mode()

# %% [markdown]
# ## 1. A process is data and state
#
# To the kernel a process is a record: its memory, its open files, its credentials — and one
# pointer per *namespace kind* saying which copy of each global resource it sees. Linux shows
# those pointers as symbolic links in `/proc/PID/ns/`. Each link names a namespace by an inode
# number; two processes are in the same namespace exactly when the numbers match.
#
# Here are ours (`namespace_ids()` reads `/proc/self/ns`, or asks the simulated kernel):

# %%
import os

from fromscratch import namespaces as ns

for kind, inode in ns.namespace_ids().items():
    print(f"{kind:<7} {kind}:[{inode}]")

# %% [markdown]
# There are eight kinds. Each has a `CLONE_NEW*` flag; passing flags to `clone(2)` or
# `unshare(2)` gives the process a fresh namespace of those kinds, and it inherits the rest
# from its parent.

# %%
for name, flag in ns.CLONE_FLAGS.items():
    print(f"{name:<7} {flag:#012x}")

# %% [markdown]
# ## 2. Hostname isolation: the UTS namespace
#
# `ns.spawn(target, namespaces=..., hostname=...)` forks a child, calls `unshare` with the flags
# for the names you give, sets things up, and runs `target` (a Python callable or a command).
# `ns.run` does the same and hands back the callable's return value.
#
# Inside a spawned callable, use `ns.gethostname()`, `ns.getpid()` and friends: in real mode they
# *are* the system calls; in simulated mode they ask the simulated kernel.

# %%
inside = ns.run(ns.gethostname, namespaces={"uts"}, hostname="container-1")
print("inside :", inside)
print("outside:", ns.gethostname())

# %% [markdown]
# The child renamed *its* UTS namespace; the host's hostname did not change. (The library refuses
# to call `sethostname` in the namespace this notebook started in, so you cannot rename your
# machine by accident.)

# %% [markdown]
# ## 3. PID 1 inside, PID N outside
#
# A new PID namespace numbers its processes from 1. The same process has a PID in *every* PID
# namespace it belongs to; `/proc/PID/status` lists them on the `NSpid:` line, outermost first.

# %%
with ns.spawn(lambda: ns.pause(30), namespaces={"pid", "uts"}, hostname="box") as box:
    print("we call it      :", box.pid)
    print("NSpid           :", ns.nspid(box.pid))
    print("it calls itself :", ns.run(ns.getpid, namespaces={"pid"}), "(a second, fresh one)")

# %% [markdown]
# ### `ps` lies until `/proc` is remounted
#
# `ps` does not ask the kernel for "my processes"; it lists the directories in `/proc`. A `proc`
# filesystem shows the PID namespace *of whoever mounted it*. So a process in a new PID namespace
# that still looks at the host's `/proc` sees every host process. A container runtime therefore
# also creates a mount namespace and mounts a fresh `proc` inside it (`mount_proc=True`, the
# default when both `pid` and `mnt` are new).

# %%
stale = ns.run(ns.pids, namespaces={"pid", "mnt"}, mount_proc=False)
fresh = ns.run(ns.pids, namespaces={"pid", "mnt"})
print(f"before remounting /proc: {len(stale)} processes visible, e.g. {stale[:6]}")
print(f"after remounting /proc : {fresh}")

# %% [markdown]
# The real `ps` agrees (in simulated mode a small built-in `ps` stands in):

# %%
with ns.spawn(["ps", "-e"], namespaces={"pid", "mnt"}, capture_output=True) as ps:
    ps.wait()
    print(ps.output())

# %% [markdown]
# ### PID 1 has duties
#
# The kernel treats PID 1 of a namespace like `init`: orphans are re-parented to it (it must
# reap them), it is **immune to signals it has no handler for** — even `SIGTERM` from the host —
# and when it exits, the kernel kills everything else in the namespace. This is why `docker stop`
# waits 10 s and then uses `SIGKILL` on a program that never expected to be PID 1, and why
# `docker run --init` exists. Watch:

# %%
import signal

with ns.spawn(lambda: ns.pause(30), namespaces={"pid"}) as plain:
    plain.terminate()
    try:
        plain.wait(timeout=0.5)
    except TimeoutError:
        print("PID 1 without a handler ignored SIGTERM; SIGKILL it is")
        plain.kill(signal.SIGKILL)
    print("exit status:", plain.wait())

with ns.spawn(lambda: ns.pause(30), namespaces={"pid"}, init=True) as managed:
    managed.terminate()
    print("with a tiny init as PID 1, SIGTERM was forwarded; status:", managed.wait(timeout=5))

# %% [markdown]
# The tiny init (`fromscratch/linux/pidns.py`, 100 lines) runs the program as PID 2, forwards
# signals to it, reaps every child, and exits with 128 + the signal number, as a shell does.

# %% [markdown]
# ## 4. Mount isolation
#
# In a new mount namespace the process starts with a *copy* of the mount table. Mounting a
# `tmpfs` there changes the copy only. (`spawn` also makes every mount *private*, so the change
# cannot propagate back to the host — systemd makes `/` a shared mount by default.)

# %%
def mount_scratch_space() -> list[str]:
    ns.mount("tmpfs", "/mnt", "tmpfs")
    return ns.mount_points()


inside = ns.run(mount_scratch_space, namespaces={"mnt"})
print("mounts on /mnt inside :", inside.count("/mnt"))
print("mounts on /mnt outside:", ns.mount_points().count("/mnt"))

# %% [markdown]
# ## 5. Root without root: user namespaces
#
# A new user namespace starts with no IDs mapped. Writing `/proc/PID/uid_map` with a line
# `inside outside count` maps IDs: `0 1000 1` makes user 1000 outside appear as root (0) inside.
# An ordinary user may write exactly one line: their own uid to anything. Inside, the process has
# every capability *over the namespaces its user namespace owns* — enough to create the other
# namespaces, which is how **rootless** containers (Podman, rootless Docker) work. To the host it
# is still user 1000.

# %%
uid_outside = os.getuid() if mode != "simulated" else 0
uid_inside, uid_map = ns.run(lambda: (ns.getuid(), ns.read_id_map("self")),
                             namespaces={"user", "uts"}, hostname="rootless")
print("uid outside:", uid_outside, "| uid inside:", uid_inside, "| uid_map:", uid_map)

# %% [markdown]
# And an ID that is not in the map shows up as the *overflow* user, 65534 (`nobody`):

# %%
print(ns.run(ns.getuid, namespaces={"user"}, uid_map=[(0, 100000, 65536)],
             gid_map=[(0, 100000, 65536)]))

# %% [markdown]
# ## 6. Two network stacks joined by a veth pair
#
# A new network namespace has one interface, `lo`, and nothing else: no other address, no
# route, no way out. (The kernel creates `lo` *down*; `NetworkNamespace` brings it up, as
# container runtimes do.) A **veth pair** is a virtual cable: two interfaces, whatever enters one leaves the
# other. Put one end in each namespace, give each an address in the same subnet, bring them up,
# and the two can talk. Here a "node" is itself a network namespace, so nothing is configured in
# the host's own network stack. (Named namespaces live in `/run/netns/`, like `ip netns add`.)

# %%
suffix = os.getpid() % 10000
with ns.NetworkNamespace(f"red-{suffix}") as red, ns.NetworkNamespace(f"blue-{suffix}") as blue:
    print("a new namespace:", [link.name for link in red.links()])
    red.add_veth("veth0", blue, "veth0")
    red.add_address("veth0", "10.10.0.1/24")
    blue.add_address("veth0", "10.10.0.2/24")
    red.set_up("veth0")
    blue.set_up("veth0")
    for link in red.links():
        print(f"  red : {link.name:<6} {link.kind:<7} up={link.up} {link.addresses}")
    print("red pings blue:", [f"{ms:.3f} ms" for ms in red.ping("10.10.0.2", count=3)])
print("left behind:", [name for name in ns.list_named() if name.endswith(str(suffix))])

# %% [markdown]
# With more than two, plug one end of each pair into a **bridge** — a virtual switch — in a
# namespace of its own. This is how a Kubernetes node wires its Pods together (the `cni0` bridge).

# %%
nodes = [f"n{i}-{suffix}" for i in range(1, 4)]
with ns.switched_network(nodes, "10.20.0.0/24", switch=f"sw-{suffix}") as net:
    switch = net[f"sw-{suffix}"]
    print("switch ports:", [(port.name, port.master) for port in switch.links() if port.kind == "veth"])
    print("n1 -> n3 (10.20.0.3):", f"{net[nodes[0]].ping('10.20.0.3')[0]:.3f} ms")

# %% [markdown]
# ## 7. Who shares what: a picture from live `/proc` data
#
# Start three processes with different namespace sets and draw which namespace each one is in.
# A colour is one namespace (one inode); the same colour in a column means *shared*.

# %%
import matplotlib.pyplot as plt

kinds = ["pid", "uts", "mnt", "net", "ipc", "user"]
specs = {"notebook (us)": None, "uts only": {"uts"}, "pid+mnt": {"pid", "mnt"},
         "container": {"pid", "uts", "mnt", "ipc", "net"}}
procs = {label: ns.spawn(lambda: ns.pause(30), namespaces=spec)
         for label, spec in specs.items() if spec is not None}
rows = {"notebook (us)": ns.namespace_ids()}
rows.update({label: p.namespace_ids() for label, p in procs.items()})
shared = ns.who_shares([p.pid for p in procs.values()], kinds)
for p in procs.values():
    p.close()

inodes = sorted({rows[label][k] for label in rows for k in kinds})
colour = {inode: plt.cm.tab20(i % 20) for i, inode in enumerate(inodes)}
fig, ax = plt.subplots(figsize=(8, 2.6))
for r, label in enumerate(rows):
    for c, kind in enumerate(kinds):
        inode = rows[label][kind]
        ax.add_patch(plt.Rectangle((c, r), 0.95, 0.9, color=colour[inode]))
        ax.text(c + 0.47, r + 0.45, str(inode)[-4:], ha="center", va="center", fontsize=8)
ax.set_xlim(0, len(kinds)), ax.set_ylim(0, len(rows))
ax.set_xticks([c + 0.47 for c in range(len(kinds))], kinds)
ax.set_yticks([r + 0.45 for r in range(len(rows))], list(rows))
ax.invert_yaxis()
ax.set_title("namespace inodes (last 4 digits): same colour = shared")
plt.tight_layout()
plt.show()
print({kind: len(groups) for kind, groups in shared.items()}, "distinct namespaces among the three")

# %% [markdown]
# ## 8. Check against the real tool
#
# util-linux's `unshare(1)` does what `ns.spawn` does. In real mode, compare: a shell started with
# `unshare --fork --pid --mount-proc --uts` is PID 1 and sees only itself — just like ours.

# %%
import shutil
import subprocess

if mode == "real" and shutil.which("unshare"):
    out = subprocess.run(["unshare", "--fork", "--pid", "--mount-proc", "--uts",
                          "sh", "-c", "hostname from-unshare; echo pid=$$ host=$(hostname); ps -e"],
                         capture_output=True, text=True, check=True).stdout
    print(out)
else:
    print(f"(in {mode} mode we skip util-linux's unshare: it needs root)")

# %% [markdown]
# ## 9. What namespaces do *not* isolate
#
# - **The kernel itself.** Every container shares it: `uname -r` is the host's kernel everywhere,
#   and a kernel bug is everyone's bug. (A VM has its own kernel; a container does not.)
# - **Time** — the wall clock is global. Linux 5.6 added *time* namespaces, but they only offset
#   the monotonic and boot-time clocks; `date` is the same everywhere.
# - **Resources.** A namespace changes what a process *sees*, not how much it may *use*.
#   `/proc/meminfo` is not namespaced, so `top` or `free` in a container shows the **host's**
#   memory, and nothing stops the process from using all of it. Limits are the job of
#   **cgroups** — chapter 2.

# %%
def what_the_kernel_says() -> tuple[str, str]:
    with open("/proc/meminfo") as meminfo:
        total = meminfo.readline().split(":")[1].strip()
    return os.uname().release, total


if mode != "simulated":
    inside = ns.run(what_the_kernel_says, namespaces={"pid", "uts", "mnt", "ipc", "net"})
    print("inside a container: kernel", inside[0], "| MemTotal", inside[1])
    print("on the host       : kernel", what_the_kernel_says()[0], "| MemTotal",
          what_the_kernel_says()[1])
else:
    print("(the simulated kernel has no /proc/meminfo; on Linux the two lines would be equal)")

# %% [markdown]
# ## Summary
#
# - A container is a process with namespace parameters: `unshare(CLONE_NEWPID | CLONE_NEWUTS | …)`
#   then `fork`, and the child lives in its own world.
# - `/proc/PID/ns/*` inodes say who shares what; `NSpid` in `/proc/PID/status` gives a process's
#   PID at every level.
# - PID 1 is special: it reaps orphans, ignores unhandled signals, and takes its namespace down
#   with it — use an init. `ps` needs a fresh `/proc`.
# - User namespaces map IDs: root inside, an ordinary user outside — rootless containers.
# - Network namespaces are whole network stacks; veth pairs and bridges connect them.
#
# **Going further.** The man pages `namespaces(7)`, `pid_namespaces(7)`, `user_namespaces(7)`,
# `network_namespaces(7)`; runc's `libcontainer/nsenter/nsexec.c` (how a real runtime does the
# dance of `unshare`, `fork` and uid maps in C before the Go runtime starts); `tini`'s `tini.c`;
# util-linux's `sys-utils/unshare.c`; the pyroute2 documentation for `NetNS` and `IPRoute`.
#
# **Next:** the exercises in this folder, then chapter 2, *cgroups* — limits on what a process
# may use.
