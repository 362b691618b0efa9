"""How fast do we unpack a 50 MB layer, next to ``umoci unpack`` on the same image?

One image with a single gzip layer of ~50 MB (500 files of 100 kB of random,
incompressible bytes, in 10 directories) is written to an OCI layout.  Then, in
the same run:

- peer: ``umoci unpack --image LAYOUT:bench:1 BUNDLE`` (Debian's ``umoci``): checks
  every member, applies whiteouts, writes a runtime ``config.json`` and an mtree
  manifest of the result;
- ours, flat: ``ImageStore.unpack`` — the same job (safe extraction, whiteouts
  applied) without the config and the mtree manifest;
- ours, overlay: ``ImageStore.layer_dir`` — one directory per layer, whiteouts
  as 0/0 devices, what an overlay mount needs.

Printed: median seconds and MB/s over ``--runs`` runs, and the ratio ours / umoci.

Run: ``.venv/bin/python bench/image_unpack.py [--runs 3] [--megabytes 50]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fromscratch.image.layers import gzip_layer
from fromscratch.image.oci import host_architecture
from fromscratch.image.store import ImageStore

FILE_SIZE = 100_000


def make_image(store: ImageStore, megabytes: int) -> int:
    """Write the benchmark image; returns the uncompressed layer size in bytes."""
    tar_path = store.scratch / "layer.tar"
    with tarfile.open(tar_path, "w") as archive:
        for index in range(megabytes * 1_000_000 // FILE_SIZE):
            path = store.scratch / "payload"
            path.write_bytes(os.urandom(FILE_SIZE))
            archive.add(path, arcname=f"data/dir{index % 10}/file{index:05}.bin")
    size = tar_path.stat().st_size
    blob = gzip_layer(tar_path, store.scratch / "layer.tar.gz")
    tar_path.unlink()
    config = {"architecture": host_architecture(), "os": "linux",
              "config": {"Cmd": ["/bin/sh"]},
              "rootfs": {"type": "layers", "diff_ids": [blob.diff_id]}, "history": []}
    store.layout.write_image(reference="bench:1", config=config, layers=[store.add_layer(blob)])
    blob.path.unlink()
    return size


def timed(action: Callable[[], object], cleanup: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        cleanup()
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    cleanup()
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--megabytes", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-image-unpack-"))
    try:
        store = ImageStore(work / "store")
        print("  writing the image ...", file=sys.stderr)
        size = make_image(store, args.megabytes)
        image = store.get("bench:1")
        results: dict[str, float] = {}
        umoci = shutil.which("umoci")
        if umoci:
            bundle = work / "bundle"
            command = [umoci, "unpack", *([] if os.geteuid() == 0 else ["--rootless"]),
                       "--image", f"{store.layout.root}:bench:1", str(bundle)]
            results["umoci unpack"] = timed(
                lambda: subprocess.run(command, check=True, capture_output=True),
                lambda: shutil.rmtree(bundle, ignore_errors=True), args.runs)
        flat = work / "rootfs"
        results["ours, flat (unpack)"] = timed(
            lambda: store.unpack(image, flat), lambda: shutil.rmtree(flat, ignore_errors=True),
            args.runs)
        layers = store.root / "layers"
        results["ours, overlay layer dir"] = timed(
            lambda: store.layer_dir(image.layers[0], userxattr=os.geteuid() != 0),
            lambda: (shutil.rmtree(layers, ignore_errors=True),
                     shutil.rmtree(store.root / "layers-user", ignore_errors=True)), args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    megabytes = size / 1e6
    gzip_size = image.layers[0]["size"] / 1e6
    print(f"one layer: {megabytes:.1f} MB tar, {gzip_size:.1f} MB gzip, "
          f"{args.megabytes * 1_000_000 // FILE_SIZE} files; median of {args.runs}")
    peer = results.get("umoci unpack")
    print(f"{'':<26}{'seconds':>9}{'MB/s':>8}{'ours/umoci':>12}")
    for label, seconds in results.items():
        ratio = f"{seconds / peer:.2f}" if peer and label != "umoci unpack" else ""
        print(f"{label:<26}{seconds:>9.3f}{megabytes / seconds:>8.1f}{ratio:>12}")
    if peer is None:
        print("umoci not measured: not installed (apt-get install umoci)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
