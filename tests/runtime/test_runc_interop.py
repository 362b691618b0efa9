"""Interop with runc: our bundles run under runc, ``runc spec`` bundles run under ours, same view inside.

The probe script prints what a process can observe of its own isolation: its PID,
hostname, capabilities, no_new_privs and seccomp mode from ``/proc/self/status``, which
namespaces differ from the host's, the mount points, and whether ``/`` is writable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fromscratch.runtime.bundle import bundle_from_image, load_bundle, write_bundle
from fromscratch.runtime.container import Container

from .conftest import CGROUP_ROOT, needs_busybox, needs_root, needs_runc

pytestmark = [needs_root, needs_busybox, needs_runc, pytest.mark.slow]

PROBE = ("echo pid $$; echo host $(hostname); "
         "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status; "
         "for n in cgroup ipc mnt net pid user uts; do echo ns $n $(readlink /proc/self/ns/$n); done; "
         "awk '{print \"mount \" $5}' /proc/self/mountinfo | sort -u; "
         "touch /probe-write 2>/dev/null && echo root rw || echo root ro; "
         "[ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ] && "
         "echo memlimit $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); "
         "[ -e /sys/fs/cgroup/pids/pids.max ] && echo pidsmax $(cat /sys/fs/cgroup/pids/pids.max); true")
NAMESPACES = ("cgroup", "ipc", "mnt", "net", "pid", "user", "uts")
HOST_NS = {n: os.readlink(f"/proc/self/ns/{n}") for n in NAMESPACES}
DEVICES = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}


def observed(output: str) -> dict[str, object]:
    """The probe's output as comparable facts (namespaces: new or shared with the host)."""
    facts: dict[str, object] = {"mounts": set()}
    for line in output.splitlines():
        key, _, rest = line.partition(" ")
        if key == "ns":
            name, link = rest.split()
            facts[f"ns {name}"] = "host" if HOST_NS[name] == link else "new"
        elif key == "mount":
            # runc creates device nodes with mknod, we bind-mount them: not part of the comparison
            if rest not in DEVICES:
                facts["mounts"].add(rest)  # type: ignore[union-attr]
        elif ":" in line:
            name, _, value = line.partition(":")
            facts[name] = value.strip()
        else:
            facts[key] = rest
    return facts


def run_runc(bundle: Path, name: str) -> str:
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["terminal"] = False
    config["linux"]["cgroupsPath"] = f"/{CGROUP_ROOT}/runc-{name}"
    (bundle / "config.json").write_text(json.dumps(config))
    done = subprocess.run(["runc", "--root", str(bundle.parent / "runc-state"), "run", "-b", str(bundle),
                           f"{name}-{os.getpid()}"], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_ours(bundle: Path, states, name: str) -> str:
    container = Container.create(name, bundle, states=states, cgroup_root=CGROUP_ROOT)
    try:
        container.start()
        assert container.wait(30) == 0
        return container.logs()
    finally:
        container.delete(force=True)


def test_our_bundle_runs_under_runc_with_the_same_view(store, states, tmp_path):
    ours_dir = bundle_from_image(store, "busybox", tmp_path / "a", {"args": ["sh", "-c", PROBE],
                                                                    "hostname": "same"}).path
    theirs_dir = tmp_path / "b"
    shutil.copytree(ours_dir, theirs_dir, symlinks=True)
    ours, theirs = observed(run_ours(ours_dir, states, "ours")), observed(run_runc(theirs_dir, "ours"))
    assert ours == theirs
    assert ours["pid"] == "1" and ours["host"] == "same" and ours["Seccomp"] == "2"
    assert {ours[f"ns {n}"] for n in ("ipc", "mnt", "net", "pid", "uts")} == {"new"}


def test_runc_spec_bundle_runs_under_ours_with_the_same_view(store, states, tmp_path):
    bundle = tmp_path / "spec"
    bundle.mkdir()
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    store.unpack(store.get("busybox"), bundle / "rootfs")
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["args"] = ["sh", "-c", PROBE]
    config["linux"]["resources"].update(memory={"limit": 48 << 20}, pids={"limit": 64})
    write_bundle(bundle, config)
    load_bundle(bundle)
    copy = tmp_path / "spec-runc"
    shutil.copytree(bundle, copy, symlinks=True)
    ours, theirs = observed(run_ours(bundle, states, "spec")), observed(run_runc(copy, "spec"))
    assert ours == theirs
    assert ours["root"] == "ro"  # runc spec asks for a read-only root
    assert ours["NoNewPrivs"] == "1" and ours["Seccomp"] == "0"  # no seccomp section
    # runc spec mounts the cgroup hierarchies: inside both, the container reads its own limits
    assert (ours["memlimit"], ours["pidsmax"]) == (str(48 << 20), "64")
