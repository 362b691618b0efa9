"""The local image store: where built images, their unpacked layers and the cache live.

Like ``/var/lib/docker`` (or containers/storage for Podman), but laid out so a
learner can look inside with ``ls``::

    <root>/oci/            an OCI image layout holding every image (skopeo/umoci can read it)
    <root>/layers/<hex>/   each layer unpacked once, overlay format, ready to be a lowerdir
    <root>/layers-user/    the same for rootless mounts (``user.overlay.opaque``)
    <root>/cache.json      the build cache (see ``fromscratch.image.cache``)

The root is ``$FROMSCRATCH_HOME/images`` when that variable is set, else
``~/.local/share/fromscratch/images``.  Simplified: no garbage collection of
unreferenced blobs, no locking between concurrent builds.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from fromscratch.image.extract import extract_layer
from fromscratch.image.layers import LayerBlob
from fromscratch.image.oci import MEDIA_LAYER_GZIP, Descriptor, Image, Layout, full_reference


def default_root() -> Path:
    home = os.environ.get("FROMSCRATCH_HOME")
    base = Path(home) if home else Path.home() / ".local" / "share" / "fromscratch"
    return base / "images"


@dataclass(frozen=True)
class ImageSummary:
    """One line of ``fromscratch images``."""

    reference: str
    id: str
    created: str
    size: int
    layers: int


class ImageStore:
    """Images in an OCI layout plus unpacked layer directories for overlay mounts."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.layout = Layout(self.root / "oci")
        self.scratch = self.root / "tmp"
        self.scratch.mkdir(exist_ok=True)

    def add_layer(self, blob: LayerBlob) -> Descriptor:
        """Move a finished layer blob into the layout; returns its manifest descriptor."""
        descriptor = self.layout.put_file(blob.path, blob.digest, MEDIA_LAYER_GZIP)
        descriptor["annotations"] = {"org.fromscratch.diff_id": blob.diff_id}
        return descriptor

    def get(self, reference: str) -> Image:
        return self.layout.read_image(full_reference(reference))

    def has(self, reference: str) -> bool:
        return full_reference(reference) in self.layout.references()

    def layer_dir(self, descriptor: Descriptor, *, userxattr: bool = False) -> Path:
        """The layer unpacked for overlayfs (extracted on first use, then reused)."""
        hexdigest = descriptor["digest"].partition(":")[2]
        target = self.root / ("layers-user" if userxattr else "layers") / hexdigest
        if not target.exists():
            partial = target.with_name(hexdigest + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            extract_layer(self.layout.blob_path(descriptor["digest"]), partial,
                          whiteouts="overlay", userxattr=userxattr)
            partial.rename(target)  # subtle: only complete layers ever get the final name
        return target

    def layer_dirs(self, image: Image, *, userxattr: bool = False) -> list[Path]:
        """Every layer of ``image`` unpacked, bottom first: the lowerdir stack."""
        return self.layer_dirs_for(image.layers, userxattr=userxattr)

    def layer_dirs_for(self, layers: list[Descriptor], *, userxattr: bool = False) -> list[Path]:
        return [self.layer_dir(layer, userxattr=userxattr) for layer in layers]

    def unpack(self, image: Image, rootfs: str | os.PathLike[str]) -> Path:
        """Flatten all layers into one directory, like ``umoci unpack`` (no overlay needed)."""
        return self.unpack_layers(image.layers, rootfs)

    def unpack_layers(self, layers: list[Descriptor], rootfs: str | os.PathLike[str]) -> Path:
        target = Path(rootfs)
        target.mkdir(parents=True, exist_ok=True)
        for layer in layers:
            extract_layer(self.layout.blob_path(layer["digest"]), target, whiteouts="apply")
        return target

    def images(self) -> list[ImageSummary]:
        summaries = []
        for reference in sorted(self.layout.references()):
            image = self.layout.read_image(reference)
            size = sum(int(layer["size"]) for layer in image.layers)
            summaries.append(ImageSummary(reference, image.id, image.config.get("created", ""),
                                          size, len(image.layers)))
        return summaries
