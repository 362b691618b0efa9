"""The runtime spec: our defaults against ``runc spec``, and run requests turned into config.json."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from fromscratch.runtime import rootfs as rootfs_module
from fromscratch.runtime.rootfs import order_mounts, parse_options
from fromscratch.runtime.spec import default_spec, parse_volume, run_request_config

RUNC = shutil.which("runc")


@pytest.mark.skipif(RUNC is None, reason="needs runc (Debian: runc)")
def test_default_spec_matches_runc_spec(tmp_path):
    # the document `runc spec` writes is the reference; we differ only where documented
    subprocess.run([RUNC, "spec"], cwd=tmp_path, check=True)
    theirs = json.loads((tmp_path / "config.json").read_text())
    ours = default_spec()
    assert ours["linux"]["namespaces"] == theirs["linux"]["namespaces"]
    assert ours["linux"]["maskedPaths"] == theirs["linux"]["maskedPaths"]
    assert ours["linux"]["readonlyPaths"] == theirs["linux"]["readonlyPaths"]
    assert ours["process"]["capabilities"] == theirs["process"]["capabilities"]
    assert ours["process"]["noNewPrivileges"] is theirs["process"]["noNewPrivileges"] is True
    assert ours["mounts"] == [m for m in theirs["mounts"] if m["type"] != "cgroup"]
    assert ours["hostname"] == theirs["hostname"]


def test_request_env_overrides_defaults_and_keeps_order():
    # a variable given in the request replaces the default of the same name
    config = run_request_config({"args": ["env"], "env": {"PATH": "/bin", "A": "1"}})
    assert config["process"]["env"] == ["PATH=/bin", "TERM=xterm", "A=1"]


def test_request_cpus_and_memory_become_cfs_quota_and_limit():
    config = run_request_config({"args": ["true"], "cpus": 0.5, "memory": 64 << 20})
    assert config["linux"]["resources"]["cpu"] == {"quota": 50_000, "period": 100_000}
    assert config["linux"]["resources"]["memory"] == {"limit": 64 << 20}


def test_request_volumes_are_appended_after_the_default_mounts():
    config = run_request_config({"args": ["true"], "volumes": ["/srv:/data:ro", "/cache"]})
    assert config["mounts"][-2:] == [
        {"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "ro"]},
        {"destination": "/cache", "type": "bind", "source": None, "options": ["rbind", "rw"]}]


@pytest.mark.parametrize("request_", [
    {"args": []}, {"args": "sh"}, {"args": ["true"], "cwd": "tmp"},
    {"args": ["true"], "cpus": 0}, {"args": ["true"], "memory": -1},
])
def test_bad_requests_are_rejected(request_):
    with pytest.raises(ValueError):
        run_request_config(request_)


@pytest.mark.parametrize("text, expected", [
    ("/a:/b", ("/a", "/b", "rw")), ("/a:/b:ro", ("/a", "/b", "ro")),
    ("/b", (None, "/b", "rw")), ("/b:ro", (None, "/b", "ro")),
])
def test_volume_syntax_like_docker(text, expected):
    mount = parse_volume(text)
    assert (mount["source"], mount["destination"], mount["options"][1]) == expected


@pytest.mark.parametrize("text", ["", "a:/b", "/a:b", "/a:/b:rx", "/a::/b", "/a:/b:ro:x", "name:/b"])
def test_bad_volume_syntax_is_named(text):
    with pytest.raises(ValueError, match="volume"):
        parse_volume(text)


def test_mounts_are_ordered_parents_first_stable():
    # Docker sorts by number of path components, keeping the given order for ties
    mounts = [{"destination": d} for d in ["/data/cache", "/logs", "/data", "/a/b/c", "/x"]]
    ordered = [m["destination"] for m in order_mounts(mounts)]
    assert ordered == ["/logs", "/data", "/x", "/data/cache", "/a/b/c"]


def test_mount_order_rejects_relative_and_dotdot():
    with pytest.raises(ValueError):
        order_mounts([{"destination": "data"}])
    with pytest.raises(ValueError):
        order_mounts([{"destination": "/data/../etc"}])


def test_mount_options_split_into_flags_and_data():
    flags, data = parse_options(["nosuid", "noexec", "mode=755", "size=65536k", "strictatime"])
    assert flags == rootfs_module.syscalls.MS_NOSUID | rootfs_module.syscalls.MS_NOEXEC
    assert data == "mode=755,size=65536k"
