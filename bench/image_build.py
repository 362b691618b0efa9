"""How long does a 10-step Dockerfile take to build, cold and from the cache?

Our builder (``fromscratch.image.builder.build``) against ``buildah bud`` (Debian's
``buildah``), in the same run, on the same Dockerfile and build context:

- the base is our offline busybox image; buildah reads it from our OCI layout
  (``FROM oci:<layout>:busybox:latest``) and has it pulled *before* timing, so
  neither side pays for the base;
- **cold**: an empty build cache (a fresh store for us, a fresh ``--root`` for
  buildah, ``--layers`` so that it caches per step as we do);
- **cached**: the same build again, every step a cache hit.

buildah runs ``RUN`` with ``--isolation chroot`` and the ``overlay`` storage
driver; ours runs it in the mode this host allows (real: new namespaces,
overlayfs, chroot).  The Dockerfile's RUN steps only use the filesystem, no
network.  Printed: median of ``--runs`` builds, and the ratio ours / buildah.

Run: ``.venv/bin/python bench/image_build.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fromscratch import host
from fromscratch.image.base import ensure_base_image
from fromscratch.image.builder import build
from fromscratch.image.store import ImageStore

STEPS = """\
LABEL org.example.bench="ten steps"
ENV APP=/app
WORKDIR /app
COPY data/ /app/data/
RUN mkdir -p /app/logs && echo ready > /app/logs/status
RUN cp -r /app/data /app/copy
RUN rm -r /app/copy/sub
EXPOSE 8080
CMD ["cat", "/app/logs/status"]
"""


def make_context(root: Path, layout: Path) -> Path:
    """A context with ~4 MB in 200 files, and one Dockerfile per builder (only FROM differs)."""
    context = root / "context"
    for index in range(200):
        folder = context / "data" / ("sub" if index % 2 else "main")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{index:03}.bin").write_bytes(os.urandom(20_000))
    (context / "Dockerfile").write_text("FROM busybox\n" + STEPS)
    (context / "Dockerfile.buildah").write_text(f"FROM oci:{layout}:busybox:latest\n" + STEPS)
    return context


def time_ours(context: Path, store_root: Path, mode: str) -> tuple[float, float]:
    shutil.rmtree(store_root, ignore_errors=True)
    store = ImageStore(store_root)
    ensure_base_image(store)
    start = time.perf_counter()
    build(context, tag="bench:1", store=store, mode=mode, progress=None)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    result = build(context, tag="bench:1", store=store, mode=mode, progress=None)
    cached = time.perf_counter() - start
    assert all(step.cached for step in result.steps[1:]), "the rebuild missed the cache"
    return cold, cached


def time_buildah(buildah: str, context: Path, root: Path, layout: Path) -> tuple[float, float]:
    shutil.rmtree(root, ignore_errors=True)
    base = [buildah, "--root", str(root / "storage"), "--runroot", str(root / "run"),
            "--storage-driver", "overlay"]
    pulled = subprocess.run([*base, "pull", "-q", f"oci:{layout}:busybox:latest"],
                            capture_output=True, text=True)
    if pulled.returncode != 0:
        raise RuntimeError(f"buildah pull failed: {pulled.stderr.strip()}")
    command = [*base, "bud", "--isolation", "chroot", "--layers", "-q", "-f",
               str(context / "Dockerfile.buildah"), "-t", "bench:1", str(context)]
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append(time.perf_counter() - start)
    subprocess.run([*base, "rmi", "--all", "--force"], capture_output=True)
    return timings[0], timings[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    mode = host.mode()
    buildah = shutil.which("buildah")
    work = Path(tempfile.mkdtemp(prefix="bench-image-build-"))
    try:
        seed = ImageStore(work / "seed")
        ensure_base_image(seed)
        context = make_context(work, seed.layout.root)
        ours, theirs = [], []
        for run in range(args.runs):
            print(f"\r  run {run + 1}/{args.runs}", end="", file=sys.stderr)
            ours.append(time_ours(context, work / "ours", mode))
            if buildah and os.geteuid() == 0:
                theirs.append(time_buildah(buildah, context, work / "buildah", seed.layout.root))
        print(file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"10-step Dockerfile, 200 files / 4 MB context, RUN steps in {mode} mode, "
          f"median of {args.runs}")
    print(f"{'':<10}{'ours (s)':>10}{'buildah (s)':>13}{'ours/buildah':>14}")
    for index, label in enumerate(("cold", "cached")):
        mine = statistics.median(t[index] for t in ours)
        if theirs:
            peer = statistics.median(t[index] for t in theirs)
            print(f"{label:<10}{mine:>10.3f}{peer:>13.3f}{mine / peer:>14.2f}")
        else:
            print(f"{label:<10}{mine:>10.3f}{'n/a':>13}{'':>14}")
    if not theirs:
        print("buildah not measured: " + ("not installed (apt-get install buildah)"
                                          if not buildah else "needs root"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
