# %% [markdown]
# # Chapter 4 — A container runtime: namespaces + cgroups + an image
#
# Chapters 1–3 built the pieces: **namespaces** (what a process sees), **cgroups** (how much it may
# use) and **images** (the files it starts from). A *container* is nothing more than those three
# put together in the right order, by a small program called a **runtime** — `runc` for Docker,
# containerd and Kubernetes. This chapter builds one and runs it side by side with `runc`:
#
# - the **OCI runtime bundle**: a `config.json` that describes the container, plus a root filesystem;
# - the **lifecycle** `create → start → state → kill → delete`, with state on disk;
# - **`pivot_root`** instead of `chroot`, a minimal `/dev`, `/proc`, a read-only `/sys`, and the
#   files `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf` from an *init layer*;
# - **hardening** like runc: masked paths, read-only paths, capabilities, `no_new_privs`, seccomp;
# - **volumes**, the **cgroup limits** of chapter 2 in action, and a Docker-like **CLI**.
#
# A running container = a rootfs (the image: the static view) + namespaces and cgroups (the
# runtime: the dynamic view). Its first process prepares everything and then `execv()`s the
# application, which becomes PID 1.
#
# **Prerequisites:** chapters 1 (namespaces), 2 (cgroups) and 3 (images).
# **Where the code lives:** `fromscratch/runtime/` — `spec.py` and `bundle.py` (config.json),
# `rootfs.py` (mounts and `pivot_root`), `hardening.py`, `container.py` (the lifecycle),
# `state.py`, `engine.py` (images → containers, `exec`, `commit`) and `cli.py`.

# %%
from fromscratch import host

MODE = host.show_mode()

# %% [markdown]
# Real containers need root here (mounts, cgroups). Without it, this notebook uses the
# **simulated** container: the same lifecycle and state files, the command interpreted by the
# chapter 3 simulated shell against an unpacked copy of the image — and it says so below.

# %%
import json
import tempfile
from pathlib import Path

from fromscratch.image.base import ensure_base_image
from fromscratch.image.store import ImageStore
from fromscratch.runtime import engine
from fromscratch.runtime.state import StateDir

RUNTIME_MODE = "real" if MODE == "real" else "simulated"
work = Path(tempfile.mkdtemp(prefix="chapter4-"))
store = ImageStore(work / "images")
states = StateDir(work / "containers")
ensure_base_image(store)
CGROUPS = "fromscratch-notebook"
print("containers run as:", RUNTIME_MODE, "| state directory:", states.root)

# %% [markdown]
# ## 1. The bundle: `config.json`
#
# The OCI runtime specification says what a runtime must do before it runs anything. `runc spec`
# prints a starting point; ours is the same document. A **run request** — what you type after
# `docker run` — is folded into it: the command, environment, working directory, volumes, limits.

# %%
from fromscratch.runtime.spec import default_spec, run_request_config

config = run_request_config({"args": ["sh", "-c", "echo hello"], "env": {"GREETING": "hi"},
                             "hostname": "box", "cpus": 0.5, "memory": 64 * 2**20,
                             "volumes": ["/tmp:/data:ro"]})
print("namespaces:", [n["type"] for n in config["linux"]["namespaces"]])
print("mounts:    ", [m["destination"] for m in config["mounts"]])
print("masked:    ", config["linux"]["maskedPaths"][:5], "…")
print("caps:      ", config["process"]["capabilities"]["bounding"])
print("resources: ", json.dumps(config["linux"]["resources"]))

# %% [markdown]
# Check against the real thing: where Debian's `runc` is installed, compare with `runc spec`.

# %%
import shutil
import subprocess

if shutil.which("runc"):
    spec_dir = work / "runc-spec"
    spec_dir.mkdir()
    subprocess.run(["runc", "spec"], cwd=spec_dir, check=True)
    theirs = json.loads((spec_dir / "config.json").read_text())
    ours = default_spec()
    for key in ("namespaces", "maskedPaths", "readonlyPaths"):
        print(f"{key:<14} same as runc spec: {ours['linux'][key] == theirs['linux'][key]}")
    print("capabilities   same as runc spec:", ours["process"]["capabilities"] == theirs["process"]["capabilities"])
else:
    print("runc is not installed here (Debian: apt-get install runc)")

# %% [markdown]
# ## 2. The lifecycle: create, start, state, kill, delete
#
# `create` does all the preparation — namespaces, cgroup, overlay rootfs, `pivot_root`, dropping
# privileges — and leaves PID 1 **blocked on a FIFO** (`exec.fifo`, as runc does). Nothing from the
# image has run yet. `start` opens the FIFO; PID 1 then `exec`s the application.

# %%
container = engine.create_from_image("busybox", {"args": ["sh", "-c", "echo hello from the container; cat /etc/hostname"],
                                                 "hostname": "box"},
                                     store=store, states=states, mode=RUNTIME_MODE, cgroup_root=CGROUPS)
print("after create:", container.state())
container.start()
print("exit code:   ", container.wait())
print("after exit:  ", container.state()["status"])
print(container.logs())

# %% [markdown]
# The state lives on disk, so another process (the CLI, later) finds the container again:

# %%
print(json.dumps({k: v for k, v in container.record().items()
                  if k in ("id", "name", "image", "status", "exit_code", "command")}, indent=1))
engine.remove(container)
print("after delete:", [r["id"][:12] for r in states.all()])

# %% [markdown]
# ## 3. The host's view and the container's view
#
# Start a long-running container and look at it from both sides: inside it is PID 1 with its
# own hostname and a tiny filesystem; from the host it is an ordinary process with a large PID,
# in different namespaces (compare the inode numbers of `/proc/PID/ns/*`, chapter 1).

# %%
import os

from fromscratch.linux import proc

sleeper = engine.create_from_image("busybox", {"args": ["sleep", "300"], "hostname": "inside"},
                                   store=store, states=states, mode=RUNTIME_MODE, cgroup_root=CGROUPS)
sleeper.start()
if RUNTIME_MODE == "real":
    pid = sleeper.pid
    print(f"host view: PID {pid}, command {proc.command_of(pid)!r}")
    inside_ns, outside_ns = proc.namespace_ids(pid), proc.namespace_ids(os.getpid())
    for kind in ("mnt", "uts", "ipc", "pid", "net", "cgroup", "user"):
        same = "shared with the host" if inside_ns[kind] == outside_ns[kind] else "its own"
        print(f"  {kind:<7} {inside_ns[kind]:>12}  {same}")
    code, output = engine.exec_in(sleeper, ["sh", "-c", "echo container view: PID of sleep = $(pidof sleep); "
                                            "hostname; wc -l < /proc/self/mountinfo"])
    print(output)
else:
    print("simulated: no process exists; the record says", sleeper.state())

# %% [markdown]
# `exec` (as in `docker exec`) started a *second* process that joined the container's namespaces
# with `setns(2)` — chapter 1's `nsenter` — and received the same capabilities and seccomp filter.
#
# ## 4. `pivot_root`, not `chroot`
#
# `chroot` only changes where path lookup starts. A root process inside a `chroot` can climb out:
# `chroot` into a subdirectory (its current directory is now outside its root), `cd ..` many
# times, `chroot .`. After `pivot_root` and unmounting the old root, nothing of the host is left
# in the container's mount namespace to climb to. We try the escape both ways, looking for a file
# that exists only on the host:

# %%
if MODE == "real":
    from fromscratch.runtime.breakout import try_escape

    marker = work / "host-only-file"
    marker.write_text("you found the host")
    jail = work / "jail"
    jail.mkdir()
    print("escape from chroot:      ", try_escape(jail, str(marker), pivot=False))
    print("escape after pivot_root: ", try_escape(jail, str(marker), pivot=True))
else:
    print("needs root: the escape is tried in a real mount namespace")

# %% [markdown]
# ## 5. Hardening: what root inside may still do
#
# Root in the container is still uid 0. runc takes most of its power away: only three
# capabilities (of ~40) are kept, `no_new_privs` is set, a seccomp filter refuses dangerous system
# calls, some `/proc` files are masked and others read-only.

# %%
from fromscratch.runtime.hardening import names_of_mask

if RUNTIME_MODE == "real":
    code, output = engine.exec_in(sleeper, ["sh", "-c",
                                            "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; "
                                            "echo keys: $(wc -c < /proc/keys) bytes; "
                                            "echo 1 > /proc/sys/kernel/ns_last_pid; unshare -n true"])
    print(output)
    effective = int(output.split("CapEff:")[1].split()[0], 16)
    print("capabilities left:", names_of_mask(effective))
    print("keys on the host: ", len(Path("/proc/keys").read_text()), "bytes")
else:
    print("simulated mode: no kernel to harden")

# %% [markdown]
# ## 6. Volumes
#
# A volume is a **bind mount** made after the rootfs is ready and *before* `pivot_root`: it lives
# in the container's mount namespace only, so the host's mount table never shows it. `-v
# /host:/ctr` shares a host directory; `-v /ctr` alone is an *anonymous* volume, a fresh host
# directory (Docker's `/var/lib/docker/volumes/ID/_data`) removed with the container.

# %%
shared = work / "shared"
shared.mkdir()
(shared / "from-host.txt").write_text("written by the host\n")
vol = engine.create_from_image("busybox", {"args": ["sh", "-c", "cat /data/from-host.txt; "
                                                    "echo written by the container > /data/from-ctr.txt; "
                                                    "echo scratch > /scratch/x; cat /scratch/x"],
                                           "volumes": [f"{shared}:/data", "/scratch"]},
                               store=store, states=states, mode=RUNTIME_MODE, cgroup_root=CGROUPS)
vol.start()
vol.wait()
print(vol.logs())
print("on the host:", sorted(p.name for p in shared.iterdir()))
print("anonymous volume:", vol.record()["anonymous_volumes"])
engine.remove(vol)

# %% [markdown]
# ## 7. Limits from chapter 2, in action
#
# `--memory` and `--cpus` become `linux.resources` in `config.json`, and the runtime writes them
# into the container's cgroup. A shell that keeps doubling a string hits a 16 MiB limit and is
# killed by the kernel's OOM killer; a busy loop under `--cpus 0.2` gets a fifth of a CPU.

# %%
import time

import matplotlib.pyplot as plt

if RUNTIME_MODE == "real":
    hog = engine.create_from_image("busybox", {"args": ["sh", "-c", "x=0123456789abcdef; while true; do x=$x$x; done"],
                                               "memory": 16 * 2**20},
                                   store=store, states=states, mode="real", cgroup_root=CGROUPS)
    hog.start()
    print("memory hog exit code:", hog.wait(30), "(-9: SIGKILL from the OOM killer)")
    engine.remove(hog)

    usage = {}
    for cpus in (None, 0.5, 0.2):
        busy = engine.create_from_image("busybox", {"args": ["sh", "-c", "while true; do :; done"], "cpus": cpus},
                                        store=store, states=states, mode="real", cgroup_root=CGROUPS)
        cpuacct = next(Path(d) for d in busy.record()["cgroup"]["dirs"] if "/cpuacct/" in d)
        busy.start()
        start_ns, start = int((cpuacct / "cpuacct.usage").read_text()), time.monotonic()
        time.sleep(1.0)
        used = (int((cpuacct / "cpuacct.usage").read_text()) - start_ns) / 1e9 / (time.monotonic() - start)
        usage["no limit" if cpus is None else f"--cpus {cpus}"] = used
        engine.remove(busy, force=True)
    plt.figure(figsize=(5, 2.5))
    plt.bar(list(usage), list(usage.values()), color=["#888", "#1f77b4", "#ff7f0e"])
    plt.ylabel("CPUs used")
    plt.title("a busy loop under CFS quota")
    plt.show()
    print({k: round(v, 2) for k, v in usage.items()})
else:
    print("cgroup limits need the real kernel; chapter 2 showed the simulated model")

# %% [markdown]
# ## 8. The command line
#
# The same engine behind a Docker-like CLI: `python -m fromscratch run`, `ps`, `exec`, `logs`,
# `stop`, `rm`, `commit`, `images`, `rmi`. State is kept under `$FROMSCRATCH_HOME/containers`,
# so separate commands see the same containers. (Here `--root` points at our scratch directory.)

# %%
import sys

from fromscratch.runtime import cli

cli.run_main(["--root", str(states.root), "--rm", "busybox", "sh", "-c", "echo hello from the CLI"])
_ = cli.ps_main(["--root", str(states.root), "-a"])

# %% [markdown]
# Finally, tidy up: stop the sleeper and remove everything this notebook made.

# %%
engine.stop(sleeper, timeout=1)
engine.remove(sleeper)
if RUNTIME_MODE == "real":  # the (now empty) parent of this notebook's cgroups
    from fromscratch.linux.cgroups import open_cgroup

    open_cgroup(CGROUPS, root="", mode="real").remove()
shutil.rmtree(work, ignore_errors=True)
print("containers left:", states.all() if states.root.exists() else [])

# %% [markdown]
# ## Summary
#
# - A runtime turns a **bundle** (`config.json` + rootfs) into a process: namespaces, cgroup,
#   mounts, `pivot_root`, hardening — then `execv()` of the application as PID 1.
# - **`create`/`start`** are split by a FIFO, so an orchestrator can prepare a container (and
#   attach networking) before anything from the image runs.
# - **`pivot_root`** plus unmounting the old root leaves nothing to escape to; `chroot` does not.
# - **Volumes** are bind mounts in the container's own mount namespace; **limits** are cgroup files.
#
# ## Going further
#
# - The OCI runtime specification: `config.md`, `config-linux.md`, `runtime.md` (github.com/opencontainers/runtime-spec).
# - runc's `libcontainer`: `rootfs_linux.go` (mounts, `pivot_root`, masked paths), `init_linux.go`,
#   `standard_init_linux.go` (the order of the last steps), `nsenter/nsexec.c`.
# - Docker's default seccomp profile (`profiles/seccomp/default.json` in moby) and capabilities(7).
#
# **Next:** chapter 5, [Pods](../05-pods/) — several containers sharing namespaces, restarted and
# probed by a kubelet.
