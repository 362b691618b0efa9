"""The OCI image layout: an image as a directory of content-addressed blobs.

Follows the OCI image-spec v1.1 (image-layout.md, manifest.md, config.md)::

    oci-layout          {"imageLayoutVersion": "1.0.0"}
    index.json          the entry point: descriptors of manifests, tagged with the
                        annotation org.opencontainers.image.ref.name
    blobs/sha256/<hex>  every manifest, config and layer, named by its sha256

A *descriptor* is ``{mediaType, digest, size}``: a typed, verifiable pointer.
The manifest points at one config and the layers (gzip tars, bottom first);
the config holds the runtime defaults (``Env``, ``Entrypoint``, ``Cmd`` …),
``rootfs.diff_ids`` (the uncompressed digests) and ``history``.

This is the same directory ``skopeo copy … oci:DIR:TAG`` writes and
``umoci unpack --image DIR:TAG`` reads, so the course's images interoperate
with them.  Simplified: one platform per tag (no multi-arch index), no
referrers/artifacts, ``index.json`` rewritten in place without locking.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LAYOUT_VERSION = "1.0.0"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = "org.opencontainers.image.ref.name"
LAYER_MEDIA_TYPES = {
    MEDIA_LAYER_GZIP, MEDIA_LAYER_TAR,
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
}

Descriptor = dict[str, Any]


class ImageNotFound(LookupError):
    """No image with that reference in the layout."""


class CorruptBlob(ValueError):
    """A blob's content does not match its digest or size."""


def host_architecture() -> str:
    """The OCI/Go name of this machine's architecture (``amd64``, ``arm64`` …)."""
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON (sorted keys, no spaces): the same object gives the same digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def split_reference(reference: str) -> tuple[str, str]:
    """``name[:tag]`` -> (name, tag); the tag defaults to ``latest`` as in Docker."""
    name, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        name, tag = reference, "latest"
    if not name or not tag:
        raise ValueError(f"bad image reference {reference!r}: expected name[:tag]")
    return name, tag


def full_reference(reference: str) -> str:
    name, tag = split_reference(reference)
    return f"{name}:{tag}"


@dataclass(frozen=True)
class Image:
    """An image read back from a layout: its reference, manifest and config."""

    reference: str
    manifest_digest: str
    manifest: dict[str, Any]
    config: dict[str, Any]

    @property
    def layers(self) -> list[Descriptor]:
        return list(self.manifest["layers"])

    @property
    def diff_ids(self) -> list[str]:
        return list(self.config.get("rootfs", {}).get("diff_ids", []))

    @property
    def id(self) -> str:
        """Docker's image ID: the digest of the config."""
        return str(self.manifest["config"]["digest"])


class Layout:
    """An OCI image layout directory: blobs plus an index of tagged manifests."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if not (self.root / "oci-layout").exists():
            (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
            (self.root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": LAYOUT_VERSION}))
            self._write_index({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": []})
        version = json.loads((self.root / "oci-layout").read_text()).get("imageLayoutVersion")
        if version != LAYOUT_VERSION:
            raise ValueError(f"{self.root}: unsupported imageLayoutVersion {version!r}")

    # --- blobs -------------------------------------------------------------------------
    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or len(hexdigest) != 64:
            raise ValueError(f"unsupported digest {digest!r}")
        return self.root / "blobs" / algorithm / hexdigest

    def put_bytes(self, data: bytes, media_type: str) -> Descriptor:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: readers never see half a blob
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def put_file(self, source: str | os.PathLike[str], digest: str, media_type: str) -> Descriptor:
        path = self.blob_path(digest)
        if not path.exists():
            shutil.copyfile(source, path.with_suffix(".tmp"))
            path.with_suffix(".tmp").replace(path)
        return {"mediaType": media_type, "digest": digest, "size": path.stat().st_size}

    def read_blob(self, descriptor: Descriptor, *, verify: bool = True) -> bytes:
        data = self.blob_path(descriptor["digest"]).read_bytes()
        if verify:
            actual = "sha256:" + hashlib.sha256(data).hexdigest()
            if actual != descriptor["digest"] or len(data) != descriptor.get("size", len(data)):
                raise CorruptBlob(f"blob {descriptor['digest']} has digest {actual}, "
                                  f"size {len(data)} (expected {descriptor.get('size')})")
        return data

    def read_json(self, descriptor: Descriptor) -> dict[str, Any]:
        return json.loads(self.read_blob(descriptor))

    # --- index -------------------------------------------------------------------------
    def index(self) -> dict[str, Any]:
        return json.loads((self.root / "index.json").read_text())

    def _write_index(self, index: dict[str, Any]) -> None:
        tmp = self.root / "index.json.tmp"
        tmp.write_text(json.dumps(index, indent=2))
        tmp.replace(self.root / "index.json")

    def tag(self, manifest: Descriptor, reference: str) -> None:
        """Point ``reference`` at ``manifest`` in index.json (replacing an older tag)."""
        index = self.index()
        index["manifests"] = [m for m in index["manifests"]
                              if m.get("annotations", {}).get(REF_NAME) != reference]
        entry = dict(manifest, annotations={REF_NAME: reference})
        index["manifests"].append(entry)
        self._write_index(index)

    def references(self) -> list[str]:
        return [m["annotations"][REF_NAME] for m in self.index()["manifests"]
                if REF_NAME in m.get("annotations", {})]

    def write_image(self, *, reference: str, config: dict[str, Any],
                    layers: list[Descriptor]) -> Image:
        """Store config and manifest blobs and tag them; layer blobs must already be in."""
        config_descriptor = self.put_bytes(canonical_json(config), MEDIA_CONFIG)
        manifest = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
                    "config": config_descriptor, "layers": layers}
        manifest_descriptor = self.put_bytes(canonical_json(manifest), MEDIA_MANIFEST)
        self.tag(manifest_descriptor, reference)
        return Image(reference, manifest_descriptor["digest"], manifest, config)

    def read_image(self, reference: str) -> Image:
        """Find ``reference`` (``name:tag``, or just the tag as skopeo/umoci write it)."""
        name, tag = split_reference(reference)
        # subtle: skopeo/umoci users often tag with a bare word ("bench"), which we read as
        # "bench:latest"; accept both spellings, and a bare tag as umoci's --image DIR:TAG
        for candidate in (full_reference(reference), reference, name if tag == "latest" else tag,
                          tag):
            for entry in self.index()["manifests"]:
                if entry.get("annotations", {}).get(REF_NAME) == candidate:
                    manifest = self.read_json(entry)
                    if manifest.get("mediaType", MEDIA_MANIFEST) == MEDIA_INDEX:
                        manifest = self.read_json(manifest["manifests"][0])
                    for layer in manifest["layers"]:
                        if layer["mediaType"] not in LAYER_MEDIA_TYPES:
                            raise ValueError(f"unsupported layer media type {layer['mediaType']}")
                    return Image(candidate, entry["digest"], manifest,
                                 self.read_json(manifest["config"]))
        raise ImageNotFound(f"no image {reference!r} in {self.root} "
                            f"(have: {', '.join(self.references()) or 'none'})")
