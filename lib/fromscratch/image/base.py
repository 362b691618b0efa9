"""A tiny base image made offline, so the course needs no registry.

``busybox`` is one statically linked binary that acts as ``sh``, ``ls``,
``httpd`` and some 300 other commands depending on the name it is called by
(``argv[0]``).  Debian ships it as ``busybox-static``.  The base image is a
single layer: the usual top-level directories, ``/etc/passwd`` and
``/etc/group``, ``/bin/busybox`` and one symlink per applet — the same shape as
the official ``busybox`` image on Docker Hub.

Where no static busybox exists (macOS, Binder without the package), the base
image is the directory skeleton alone and says so in a label: ``RUN`` steps
then only work in simulated mode, whose shell needs no binaries.

The layer is reproducible: entries are sorted and dated 2000-01-01, so the
same busybox binary always gives the same DiffID.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import tarfile
import time
from pathlib import Path

from fromscratch.image.layers import gzip_layer
from fromscratch.image.oci import Image, host_architecture
from fromscratch.image.store import ImageStore

BASE_REFERENCE = "busybox:latest"
EPOCH = 946684800  # 2000-01-01T00:00:00Z: fixed timestamps give reproducible digests
DIRECTORIES = {"bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o555,
               "root": 0o700, "sys": 0o555, "tmp": 0o1777, "usr": 0o755, "usr/bin": 0o755,
               "usr/sbin": 0o755, "sbin": 0o755, "var": 0o755, "var/www": 0o755}
FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n"
                  "www-data:x:33:33:www-data:/var/www:/bin/false\n"
                  "nobody:x:65534:65534:nobody:/home:/bin/false\n",
    "etc/group": "root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n",
}


def is_static_elf(path: Path) -> bool:
    """True for a 64-bit ELF executable without a PT_INTERP header (no dynamic loader)."""
    try:
        with open(path, "rb") as binary:
            header = binary.read(64)
            if header[:4] != b"\x7fELF" or header[4] != 2:
                return False
            phoff, = struct.unpack_from("<Q", header, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
            for index in range(phnum):
                binary.seek(phoff + index * phentsize)
                if struct.unpack("<I", binary.read(4))[0] == 3:  # PT_INTERP
                    return False
            return True
    except OSError:
        return False


def find_busybox() -> Path | None:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        found = Path(candidate)
        if is_static_elf(found):
            return found
    found_on_path = shutil.which("busybox")
    return Path(found_on_path) if found_on_path and is_static_elf(Path(found_on_path)) else None


def _entry(name: str, kind: bytes, mode: int, *, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname, info.mtime = kind, mode, size, link, EPOCH
    return info


def base_layer_tar(busybox: Path | None, out: Path) -> list[str]:
    """Write the base layer tar; returns the applet names linked to busybox."""
    applets: list[str] = []
    if busybox is not None:
        listing = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True,
                                 check=True).stdout
        applets = sorted(p for p in listing.split() if p and p != "bin/busybox")
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as archive:
        for name, mode in sorted(DIRECTORIES.items()):
            archive.addfile(_entry(name, tarfile.DIRTYPE, mode))
        for name, text in sorted(FILES.items()):
            data = text.encode()
            archive.addfile(_entry(name, tarfile.REGTYPE, 0o644, size=len(data)), io.BytesIO(data))
        if busybox is not None:
            size = busybox.stat().st_size
            with open(busybox, "rb") as binary:
                archive.addfile(_entry("bin/busybox", tarfile.REGTYPE, 0o755, size=size), binary)
            for applet in applets:
                if applet.rpartition("/")[0] in DIRECTORIES:
                    archive.addfile(_entry(applet, tarfile.SYMTYPE, 0o777, link="/bin/busybox"))
    return applets


def ensure_base_image(store: ImageStore, reference: str = BASE_REFERENCE) -> Image:
    """The offline base image, built into ``store`` on first use."""
    if store.has(reference):
        return store.get(reference)
    busybox = find_busybox()
    tar_path = store.scratch / "base-layer.tar"
    base_layer_tar(busybox, tar_path)
    blob = gzip_layer(tar_path, store.scratch / "base-layer.tar.gz")
    tar_path.unlink()
    descriptor = store.add_layer(blob)
    blob.path.unlink()
    binaries = "busybox (static)" if busybox else "none: no static busybox on this host"
    config = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH)),
        "architecture": host_architecture(), "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["sh"],
                   "Labels": {"org.fromscratch.base.binaries": binaries}},
        "rootfs": {"type": "layers", "diff_ids": [blob.diff_id]},
        "history": [{"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH)),
                     "created_by": f"fromscratch base image from {busybox or 'no busybox'}"}],
    }
    return store.layout.write_image(reference=reference, config=config, layers=[descriptor])
