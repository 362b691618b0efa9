"""OCI image layout: our images read by skopeo and umoci, and theirs read by us."""

from __future__ import annotations

import json

import pytest

from fromscratch.image import union as u
from fromscratch.image.extract import extract_layer
from fromscratch.image.layers import LayerBlob, diff_id, gzip_layer, tar_bytes
from fromscratch.image.oci import (
    MEDIA_LAYER_GZIP,
    MEDIA_MANIFEST,
    CorruptBlob,
    ImageNotFound,
    Layout,
    split_reference,
)
from fromscratch.image.store import ImageStore
from tests.image.conftest import run, tool

LOWER = {"etc": u.DIR, "etc/motd": u.file("welcome"), "etc/keep": u.file("k"),
         "srv": u.DIR, "srv/old": u.file("o")}
UPPER = {"etc": u.DIR, "etc/motd": u.WHITEOUT, "srv": u.OPAQUE_DIR, "srv/new": u.file("n")}


def layer_blob(store: ImageStore, layer: dict, name: str) -> LayerBlob:
    tar = store.scratch / f"{name}.tar"
    tar.write_bytes(tar_bytes(u.tar_entries(layer)))
    return gzip_layer(tar, store.scratch / f"{name}.tar.gz")


def two_layer_image(store: ImageStore, reference: str = "demo:1"):
    blobs = [layer_blob(store, LOWER, "l0"), layer_blob(store, UPPER, "l1")]
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Env": ["A=1"], "Cmd": ["/bin/sh"], "WorkingDir": "/srv",
                         "Labels": {"k": "v"}},
              "rootfs": {"type": "layers", "diff_ids": [b.diff_id for b in blobs]},
              "history": [{"created_by": "one"}, {"created_by": "two"}]}
    return store.layout.write_image(reference=reference, config=config,
                                    layers=[store.add_layer(b) for b in blobs])


def test_layout_files_follow_the_spec(store):
    image = two_layer_image(store)
    root = store.layout.root
    assert json.loads((root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((root / "index.json").read_text())
    assert index["schemaVersion"] == 2
    entry = index["manifests"][0]
    assert entry["mediaType"] == MEDIA_MANIFEST
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "demo:1"
    assert [layer["mediaType"] for layer in image.layers] == [MEDIA_LAYER_GZIP] * 2


def test_image_round_trips_through_the_layout(store):
    written = two_layer_image(store)
    read = store.get("demo:1")
    assert read.config == written.config and read.manifest == written.manifest


def test_tagging_again_moves_the_tag(store):
    first = two_layer_image(store)
    store.layout.write_image(reference="demo:1", config={"rootfs": {"diff_ids": []}}, layers=[])
    assert store.get("demo:1").manifest_digest != first.manifest_digest
    assert store.layout.references() == ["demo:1"]


def test_corrupt_blob_is_detected(store):
    image = two_layer_image(store)
    path = store.layout.blob_path(image.manifest["config"]["digest"])
    path.write_bytes(path.read_bytes().replace(b"A=1", b"A=2"))
    with pytest.raises(CorruptBlob):
        store.get("demo:1")


def test_missing_image_names_what_exists(store):
    two_layer_image(store)
    with pytest.raises(ImageNotFound, match="demo:1"):
        store.get("nope:latest")


def test_reference_defaults_to_latest():
    assert split_reference("busybox") == ("busybox", "latest")
    assert split_reference("localhost:5000/app") == ("localhost:5000/app", "latest")
    assert split_reference("app:v2") == ("app", "v2")


def test_flattened_unpack_applies_whiteouts(store, tmp_path):
    image = two_layer_image(store)
    rootfs = store.unpack(image, tmp_path / "rootfs")
    assert u.snapshot(rootfs) == u.merge_layers([LOWER, UPPER])


def test_skopeo_inspects_our_image(store):
    skopeo = tool("skopeo")
    image = two_layer_image(store)
    info = json.loads(run(skopeo, "inspect", f"oci:{store.layout.root}:demo:1"))
    assert info["Layers"] == [layer["digest"] for layer in image.layers]
    assert info["Env"] == ["A=1"] and info["Labels"] == {"k": "v"}


def test_skopeo_copies_our_image_and_we_read_the_copy(store, tmp_path):
    skopeo = tool("skopeo")
    image = two_layer_image(store)
    run(skopeo, "copy", f"oci:{store.layout.root}:demo:1", f"oci:{tmp_path / 'copy'}:again")
    copied = Layout(tmp_path / "copy").read_image("again")
    assert copied.diff_ids == image.diff_ids
    assert copied.config["config"]["Cmd"] == ["/bin/sh"]


def test_umoci_unpacks_our_image_to_the_same_tree(store, tmp_path):
    umoci = tool("umoci")
    two_layer_image(store)
    run(umoci, "unpack", "--image", f"{store.layout.root}:demo:1", str(tmp_path / "bundle"))
    assert u.snapshot(tmp_path / "bundle" / "rootfs") == u.merge_layers([LOWER, UPPER])
    runtime = json.loads((tmp_path / "bundle" / "config.json").read_text())
    assert runtime["process"]["cwd"] == "/srv" and "A=1" in runtime["process"]["env"]


def test_we_read_an_image_written_by_umoci(tmp_path):
    umoci = tool("umoci")
    layout = tmp_path / "theirs"
    run(umoci, "init", "--layout", str(layout))
    run(umoci, "new", "--image", f"{layout}:base")
    run(umoci, "unpack", "--image", f"{layout}:base", str(tmp_path / "bundle"))
    (tmp_path / "bundle" / "rootfs" / "hello").write_text("from umoci")
    run(umoci, "repack", "--image", f"{layout}:v2", str(tmp_path / "bundle"))
    run(umoci, "config", "--image", f"{layout}:v2", "--config.cmd", "/hello", "--tag", "v3")
    theirs = Layout(layout)
    image = theirs.read_image("v3")
    assert image.config["config"]["Cmd"] == ["/hello"]
    assert len(image.diff_ids) == len(image.layers) == 1
    rootfs = tmp_path / "rootfs"
    for layer in image.layers:
        extract_layer(theirs.blob_path(layer["digest"]), rootfs, whiteouts="apply")
    assert (rootfs / "hello").read_text() == "from umoci"
    assert diff_id(theirs.blob_path(image.layers[0]["digest"])) == image.diff_ids[0]


def test_bare_tag_written_by_other_tools_reads_as_latest(store):
    # skopeo copy ... oci:DIR:app writes the annotation "app"; "app" means "app:latest" to us
    blob = layer_blob(store, LOWER, "l0")
    config = {"rootfs": {"type": "layers", "diff_ids": [blob.diff_id]}}
    store.layout.write_image(reference="app", config=config, layers=[store.add_layer(blob)])
    assert store.get("app").diff_ids == [blob.diff_id]
    assert store.get("app:latest").diff_ids == [blob.diff_id]
