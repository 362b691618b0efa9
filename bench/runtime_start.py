"""Start-to-exit time of `true` in a fresh container: ours vs `runc run` vs `crun run`.

All three run the *same* OCI bundle (the offline busybox image flattened into
``rootfs/``, our default config with its seccomp profile, a cgroup under our own
``fromscratch-bench-<pid>`` subtree), in alternating rounds of five runs so that
cache and load effects hit everyone alike.  Ours is measured in-process (create +
start + wait + delete through ``fromscratch.runtime.container``); runc and crun as the commands
``runc run`` / ``crun run`` (their process start-up included, as a user sees it).

Run as root: ``.venv/bin/python bench/runtime_start.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fromscratch.image.base import ensure_base_image
from fromscratch.image.store import ImageStore
from fromscratch.linux.overlay import run_in_child
from fromscratch.runtime.bundle import bundle_from_image
from fromscratch.runtime.container import Container
from fromscratch.runtime.state import StateDir

CGROUP_ROOT = f"fromscratch-bench-{os.getpid()}"


def ours(bundle: Path, states: StateDir, index: int) -> float:
    start = time.perf_counter()
    container = Container.create(f"ours-{index}", bundle, states=states, cgroup_root=CGROUP_ROOT, log=False)
    container.start()
    code = container.wait(30)
    container.delete()
    elapsed = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"our container exited {code}")
    return elapsed


# crun refuses a hybrid v1/v2 host ("cgroups in hybrid mode not supported"). There we run
# crun in a private mount namespace of its own where the (controller-less) cgroup2 mount at
# /sys/fs/cgroup/unified is unmounted, so crun sees a plain v1 host; nothing changes for the host.
UNIFIED = "/sys/fs/cgroup/unified"


def hide_unified() -> bool:
    """In a child: a private mount namespace without the cgroup2 mount. True if one was hidden."""
    from fromscratch.linux import syscalls

    if not os.path.ismount(UNIFIED):
        return False
    syscalls.unshare(syscalls.CLONE_NEWNS)
    syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
    syscalls.umount2(UNIFIED, syscalls.MNT_DETACH)
    return True


def external(tool: str, bundle: Path, state: Path, index: int) -> float:
    start = time.perf_counter()
    done = subprocess.run([tool, "--root", str(state), "run", "-b", str(bundle), f"{tool}-{index}"],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{tool} run failed: {done.stderr.decode(errors='replace')}")
    return elapsed


def remove_cgroups() -> None:
    for mount in [Path("/sys/fs/cgroup"), *Path("/sys/fs/cgroup").iterdir()]:
        top = mount / CGROUP_ROOT
        if top.is_dir():
            for directory in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                directory.rmdir()
            top.rmdir()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root: containers need namespaces, mounts and cgroups", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    try:
        store = ImageStore(work / "images")
        ensure_base_image(store)
        bundle = bundle_from_image(store, "busybox", work / "bundle", {"args": ["true"], "hostname": "bench"})
        config = json.loads((bundle.path / "config.json").read_text())
        tools = [t for t in ("runc", "crun") if shutil.which(t)]
        bundles = {"ours": bundle.path}
        for tool in tools:  # the same bundle, only the cgroup path (runc/crun need one) differs
            copy = work / f"bundle-{tool}"
            copy.mkdir()
            (copy / "rootfs").symlink_to(bundle.rootfs)
            (copy / "config.json").write_text(json.dumps(
                {**config, "root": {**config["root"], "path": str(bundle.rootfs)},
                 "linux": {**config["linux"], "cgroupsPath": f"/{CGROUP_ROOT}/{tool}"}}))
            bundles[tool] = copy
        states = StateDir(work / "state")
        times: dict[str, list[float]] = {name: [] for name in ["ours", *tools]}
        ours(bundle.path, states, -1)  # warm-up: imports, page cache
        rounds, per_round = max(1, args.runs // 5), 5
        hidden = False
        for round_ in range(rounds):
            for index in range(round_ * per_round, (round_ + 1) * per_round):
                times["ours"].append(ours(bundle.path, states, index))
                if "runc" in tools:
                    times["runc"].append(external("runc", bundles["runc"], work / "runc-state", index))
            if "crun" in tools:
                def crun_round(first: int = round_ * per_round) -> tuple[bool, list[float]]:
                    masked = hide_unified()
                    return masked, [external("crun", bundles["crun"], work / "crun-state", i)
                                    for i in range(first, first + per_round)]

                hidden, measured = run_in_child(crun_round)
                times["crun"] += measured
            print(f"\rround {round_ + 1}/{rounds}", end="", file=sys.stderr)
        print(file=sys.stderr)
        print(f"start-to-exit of `true`, {args.runs} runs each, same busybox bundle")
        print(f"{'runtime':<8}{'median ms':>11}{'p10 ms':>9}{'p90 ms':>9}")
        medians = {}
        for name, values in times.items():
            values.sort()
            medians[name] = statistics.median(values)
            p10, p90 = values[len(values) // 10], values[(len(values) * 9) // 10]
            print(f"{name:<8}{medians[name] * 1000:>11.1f}{p10 * 1000:>9.1f}{p90 * 1000:>9.1f}")
        for tool in tools:
            print(f"ours / {tool}: {medians['ours'] / medians[tool]:.2f}x")
        if hidden:
            print(f"note: crun ran in a private mount namespace without {UNIFIED} "
                  "(it refuses hybrid v1/v2 hosts)")
        if not tools:
            print("neither runc nor crun is installed (Debian: apt-get install runc crun)")
        return 0
    finally:
        remove_cgroups()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
