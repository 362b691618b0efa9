"""An OCI runtime bundle: a directory holding ``config.json`` and a root filesystem.

``runc run -b DIR`` reads ``DIR/config.json``; so does :mod:`fromscratch.runtime.container`.
:func:`load_bundle` reads and checks it, raising :class:`BundleError` with a
message that names the field at fault (as ``runc`` does for a broken spec), and
:func:`write_bundle` lays one out from an image of the local store — flattened,
the way ``umoci unpack`` does, so that ``runc`` can run it too.

The checks follow the runtime-spec's MUSTs for the fields we use: ``ociVersion``
present, ``root.path`` an existing directory, ``process.args`` non-empty,
``process.cwd`` absolute, mount destinations absolute, namespace types known and
not repeated, ``hostname`` only with a new UTS namespace.

Simplified: Linux only; no ``annotations``, ``hooks`` or Windows/VM sections.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fromscratch.runtime.hardening import default_seccomp_profile
from fromscratch.runtime.spec import NAMESPACE_TYPES, run_request_config


class BundleError(ValueError):
    """A bundle whose ``config.json`` is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Bundle:
    """A checked bundle: its directory, its config, and the resolved rootfs path."""

    path: Path
    config: dict[str, Any]
    rootfs: Path

    @property
    def namespaces(self) -> dict[str, str | None]:
        """``{"pid": None, "net": "/run/netns/x", ...}``: new (None) or joined (a path)."""
        return {NAMESPACE_TYPES[ns["type"]]: ns.get("path")
                for ns in self.config.get("linux", {}).get("namespaces", [])}


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise BundleError(f"invalid config.json: {message}")


def check_config(config: Any) -> None:
    """Raise :class:`BundleError` for the first spec violation in ``config``."""
    _need(isinstance(config, dict), "the document must be a JSON object")
    _need(isinstance(config.get("ociVersion"), str), "ociVersion is required")
    process = config.get("process")
    _need(isinstance(process, dict), "process is required to run a container")
    args = process.get("args")
    _need(isinstance(args, list) and bool(args) and all(isinstance(a, str) for a in args),
          "process.args must be a non-empty list of strings")
    _need(str(process.get("cwd", "")).startswith("/"), "process.cwd must be an absolute path")
    user = process.get("user", {"uid": 0, "gid": 0})
    _need(isinstance(user.get("uid"), int) and isinstance(user.get("gid"), int),
          "process.user.uid and gid must be integers")
    env = process.get("env", [])
    _need(isinstance(env, list) and all(isinstance(e, str) and "=" in e for e in env),
          "process.env entries must be NAME=value strings")
    root = config.get("root")
    _need(isinstance(root, dict) and isinstance(root.get("path"), str), "root.path is required")
    for index, mount in enumerate(config.get("mounts", [])):
        _need(isinstance(mount, dict) and str(mount.get("destination", "")).startswith("/"),
              f"mounts[{index}].destination must be an absolute path")
    seen: set[str] = set()
    for ns in config.get("linux", {}).get("namespaces", []):
        kind = ns.get("type") if isinstance(ns, dict) else None
        _need(kind in NAMESPACE_TYPES, f"unknown namespace type {kind!r}; "
              f"known: {', '.join(NAMESPACE_TYPES)}")
        _need(kind not in seen, f"namespace type {kind!r} is listed twice")
        seen.add(kind)
    if config.get("hostname"):
        _need("uts" in seen, "hostname is set but there is no new uts namespace "
              "(it would rename the host)")


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Read and check ``path/config.json``; the rootfs must exist."""
    directory = Path(path).resolve()
    config_file = directory / "config.json"
    if not config_file.is_file():
        raise BundleError(f"{directory} is not a bundle: no config.json")
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as err:
        raise BundleError(f"invalid config.json: not JSON ({err})") from None
    check_config(config)
    rootfs = (directory / config["root"]["path"]).resolve()
    if not rootfs.is_dir():
        raise BundleError(f"root.path {config['root']['path']!r} is not a directory "
                          f"(looked at {rootfs})")
    return Bundle(directory, config, rootfs)


def write_bundle(directory: str | os.PathLike[str], config: dict[str, Any],
                 rootfs: str | os.PathLike[str] | None = None) -> Bundle:
    """Write ``config.json`` into ``directory`` (and point ``root.path`` at ``rootfs``)."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    if rootfs is not None:
        config = {**config, "root": {**config.get("root", {}), "path": os.fspath(rootfs)}}
    check_config(config)
    (target / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return load_bundle(target)


def bundle_from_image(store: Any, reference: str, directory: str | os.PathLike[str],
                      request: dict[str, Any] | None = None) -> Bundle:
    """A runnable bundle: the image flattened into ``directory/rootfs``, its config applied.

    The image's ``Env``, ``WorkingDir`` and ENTRYPOINT/CMD fill the request's gaps,
    as ``docker run`` does.
    """
    from fromscratch.image.argv import config_argv

    image = store.get(reference)
    image_config = image.config.get("config", {})
    wanted = dict(request or {})
    args = config_argv(image_config, wanted.get("args") or ())
    env = dict(item.split("=", 1) for item in image_config.get("Env", []))
    env.update(wanted.get("env", {}))
    wanted.update(args=args, env=env)
    wanted.setdefault("cwd", image_config.get("WorkingDir") or "/")
    target = Path(directory)
    rootfs = target / "rootfs"
    if not rootfs.exists():
        store.unpack(image, rootfs)
    config = run_request_config(wanted)
    config["linux"]["seccomp"] = default_seccomp_profile()
    return write_bundle(target, config)
