"""Bad bundles are refused with a message that names the field at fault."""

from __future__ import annotations

import json

import pytest

from fromscratch.runtime.bundle import BundleError, load_bundle
from fromscratch.runtime.spec import default_spec


def write(tmp_path, config, rootfs=True):
    if rootfs:
        (tmp_path / "rootfs").mkdir(exist_ok=True)
    (tmp_path / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    return tmp_path


def test_a_good_bundle_loads_with_its_namespaces(tmp_path):
    bundle = load_bundle(write(tmp_path, default_spec()))
    assert bundle.namespaces == {"pid": None, "net": None, "ipc": None, "uts": None, "mnt": None}
    assert bundle.rootfs == (tmp_path / "rootfs").resolve()


def test_missing_config_json(tmp_path):
    with pytest.raises(BundleError, match="no config.json"):
        load_bundle(tmp_path)


def test_config_that_is_not_json(tmp_path):
    with pytest.raises(BundleError, match="not JSON"):
        load_bundle(write(tmp_path, "{oops"))


def test_missing_rootfs_directory(tmp_path):
    with pytest.raises(BundleError, match="root.path"):
        load_bundle(write(tmp_path, default_spec(), rootfs=False))


@pytest.mark.parametrize("change, field", [
    (lambda c: c.pop("ociVersion"), "ociVersion"),
    (lambda c: c["process"].update(args=[]), "process.args"),
    (lambda c: c["process"].update(cwd="tmp"), "process.cwd"),
    (lambda c: c["process"].update(env=["NOEQUALS"]), "process.env"),
    (lambda c: c["process"].update(user={"uid": "root", "gid": 0}), "process.user"),
    (lambda c: c["mounts"].append({"destination": "relative"}), r"mounts\[6\]"),
    (lambda c: c["linux"]["namespaces"].append({"type": "bogus"}), "unknown namespace"),
    (lambda c: c["linux"]["namespaces"].append({"type": "pid"}), "listed twice"),
    (lambda c: c["linux"].update(namespaces=[{"type": "mount"}]), "hostname"),
])
def test_spec_violations_name_the_field(tmp_path, change, field):
    config = default_spec()
    change(config)
    with pytest.raises(BundleError, match=field):
        load_bundle(write(tmp_path, config))
