"""The engine behind ``fromscratch run``: image + request -> a container, and back (``commit``).

What ``dockerd`` + containerd do around runc, reduced to their essentials:

- ``create_from_image``: lay out the container's layers (chapter 3's
  ``prepare_rootfs``: image layers + an *init* layer with ``/etc/hosts``,
  ``/etc/hostname``, ``/etc/resolv.conf`` + an empty upper layer), make anonymous
  volumes (Docker's ``/var/lib/docker/volumes/ID/_data``), build ``config.json``
  from the image's config and the request, and hand the bundle to the runtime;
- ``exec_in``: a new process that joins a running container's namespaces and
  cgroup, with the same capabilities and seccomp filter (``docker exec``);
- ``commit``: the upper layer becomes a new image layer (init files excluded;
  a volume leaves only its empty mount point);
- ``remove_image``: refuses while a container uses the image, as ``docker rmi`` does.

In simulated mode the same calls give a :class:`SimContainer` on an unpacked copy.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
from pathlib import Path
from typing import Any

from fromscratch.image.base import BASE_REFERENCE, ensure_base_image
from fromscratch.image.commit import ContainerRootfs, prepare_rootfs
from fromscratch.image.commit import commit as commit_layer
from fromscratch.image.oci import REF_NAME, full_reference
from fromscratch.image.store import ImageStore
from fromscratch.runtime.bundle import write_bundle
from fromscratch.runtime.container import Container, ContainerError, harden_process
from fromscratch.runtime.hardening import default_seccomp_profile, load_seccomp_module
from fromscratch.runtime.simcontainer import SimContainer
from fromscratch.runtime.spec import run_request_config
from fromscratch.runtime.state import StateDir, new_id

AnyContainer = Container | SimContainer


def _kernel_mode() -> str:
    from fromscratch import host

    return host.mode()


def image_request(store: ImageStore, image: str, request: dict[str, Any]) -> dict[str, Any]:
    """The request completed from the image config: argv, Env, WorkingDir (``docker run``)."""
    from fromscratch.image.argv import config_argv

    if not store.has(image) and full_reference(image) == full_reference(BASE_REFERENCE):
        ensure_base_image(store)
    config = store.get(image).config.get("config", {})
    wanted = dict(request)
    wanted["args"] = config_argv(config, request.get("args") or ())
    env = dict(item.split("=", 1) for item in config.get("Env", []))
    env.update(request.get("env", {}))
    wanted["env"] = env
    wanted.setdefault("cwd", config.get("WorkingDir") or "/")
    return wanted


def _anonymous_volumes(request: dict[str, Any], directory: Path) -> tuple[list[str], list[str]]:
    """Replace ``-v /ctr`` by ``-v <dir>/volumes/<id>/_data:/ctr``; return (volumes, made dirs)."""
    volumes, made = [], []
    for text in request.get("volumes", []):
        parts = text.split(":")
        if len(parts) == 1 or (len(parts) == 2 and parts[1] in ("ro", "rw")):
            data = directory / "volumes" / secrets.token_hex(16) / "_data"
            data.mkdir(parents=True)
            made.append(str(data.parent))
            text = ":".join([str(data), *parts])
        volumes.append(text)
    return volumes, made


def create_from_image(image: str, request: dict[str, Any], *, store: ImageStore | None = None,
                      states: StateDir | None = None, name: str | None = None,
                      mode: str | None = None, cgroup_root: str = "fromscratch") -> AnyContainer:
    """``docker create``: a container of ``image`` ready to ``start``."""
    store = store or ImageStore()
    states = states or StateDir()
    mode = mode or _kernel_mode()
    if name is not None:
        for record in states.all():
            if record.get("name") == name:
                raise ContainerError(f"the container name {name!r} is already in use by "
                                     f"container {record['id'][:12]}")
    wanted = image_request(store, image, request)
    container_id = new_id()
    directory = states.path(container_id)
    directory.mkdir(parents=True)
    try:
        hostname = wanted.setdefault("hostname", container_id[:12])
        wanted["volumes"], anonymous = _anonymous_volumes(wanted, directory)
        config = run_request_config(wanted)
        # like Docker: a default seccomp profile on top of the runtime spec
        config["linux"]["seccomp"] = default_seccomp_profile()
        extra = {"anonymous_volumes": anonymous, "mode": mode}
        if mode == "simulated":
            rootfs = store.unpack(store.get(image), directory / "rootfs")
            from fromscratch.image.commit import write_init_layer

            write_init_layer(rootfs, hostname=hostname)
            return SimContainer.create(container_id, config, rootfs, states=states, name=name,
                                       image=image, extra=extra)
        userxattr = mode == "rootless"
        fs = prepare_rootfs(store, image, directory / "fs", hostname=hostname, userxattr=userxattr)
        config["root"]["path"] = str(fs.merged)
        config["annotations"] = {"org.fromscratch.overlay": {
            "lowers": [str(p) for p in fs.lowers], "upper": str(fs.upper), "work": str(fs.work),
            "userxattr": userxattr}}
        if userxattr:  # what `runc spec --rootless` changes
            config["linux"]["namespaces"].append({"type": "user"})
            for mount in config["mounts"]:
                if mount["type"] == "devpts":  # gid 5 (tty) is not mapped in our user namespace
                    mount["options"] = [o for o in mount["options"] if not o.startswith("gid=")]
        write_bundle(directory, config)
        extra["rootfs"] = {"init": str(fs.init), "upper": str(fs.upper), "work": str(fs.work),
                           "merged": str(fs.merged), "userxattr": userxattr}
        return Container.create(container_id, directory, states=states, name=name, image=image,
                                cgroup_root=cgroup_root, extra=extra)
    except BaseException:
        if not (directory / "state.json").exists():
            shutil.rmtree(directory, ignore_errors=True)
        raise


def open_container(name_or_id: str, states: StateDir | None = None) -> AnyContainer:
    """A handle on an existing container, by name, ID or unique ID prefix."""
    states = states or StateDir()
    container_id = states.resolve(name_or_id)
    if states.load(container_id).get("mode") == "simulated":
        return SimContainer(container_id, states)
    return Container(container_id, states)


def stop(container: AnyContainer, *, timeout: float = 10.0) -> int | None:
    """``docker stop``: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if container.status not in ("created", "running"):
        return container.record().get("exit_code")
    container.kill(signal.SIGTERM)
    try:
        return container.wait(timeout)
    except TimeoutError:
        container.kill(signal.SIGKILL)
        return container.wait(10)


def remove(container: AnyContainer, *, force: bool = False) -> None:
    """``docker rm [-f]``: delete the container, its layers and anonymous volumes."""
    record = container.record()
    container.delete(force=force)
    for volume in record.get("anonymous_volumes", []):
        shutil.rmtree(volume, ignore_errors=True)
    shutil.rmtree(container.directory, ignore_errors=True)


def exec_in(container: Container, args: list[str], *, capture_output: bool = True) -> tuple[int, str]:
    """``docker exec``: run ``args`` in the running container's namespaces; (exit code, output)."""
    from fromscratch.linux import cgroups, spawn

    record = container.record()
    if record["status"] != "running":
        raise ContainerError(f"container {container.id[:12]} is not running ({record['status']})")
    import json

    config = json.loads((Path(record["bundle"]) / "config.json").read_text())
    pid = record["pid"]
    joined = {kind: pid for kind in ("ipc", "mnt", "net", "pid", "uts")}
    if any(ns["type"] == "user" for ns in config["linux"]["namespaces"]):
        joined["user"] = pid
    env = dict(item.split("=", 1) for item in config["process"].get("env", []))

    load_seccomp_module()  # before joining the container's mount namespace

    def inside() -> None:
        os.chdir(config["process"].get("cwd", "/"))
        harden_process(config["process"], config["linux"].get("seccomp"))
        os.execvpe(args[0], args, env)

    process = spawn.spawn(inside, join=joined, capture_output=capture_output, mount_proc=False)
    info = record.get("cgroup")
    if info:
        try:
            cgroups.open_cgroup(info["name"], root=info["root"], mode="real").add_process(process.pid)
        except cgroups.CgroupError:
            pass  # it ended already
    code = process.wait()
    output = process.output() if capture_output else ""
    process.close()
    return code, output


def commit(container: AnyContainer, reference: str, *, store: ImageStore | None = None,
           comment: str = "") -> str:
    """``docker commit``: the container's writable layer as a new image; returns its ID."""
    store = store or ImageStore()
    record = container.record()
    image = store.get(record["image"])
    if record.get("mode") == "simulated":
        raise ContainerError("commit needs the overlay upper layer of a real container; "
                             "in simulated mode use the image builder")
    fs = record["rootfs"]
    rootfs = ContainerRootfs(image, (), Path(fs["init"]), Path(fs["upper"]), Path(fs["work"]),
                             Path(fs["merged"]))
    return commit_layer(store, rootfs, reference, userxattr=fs["userxattr"], comment=comment).id


def remove_image(reference: str, *, store: ImageStore | None = None,
                 states: StateDir | None = None) -> None:
    """``docker rmi``: untag ``reference``; refused while a container was made from it."""
    store = store or ImageStore()
    states = states or StateDir()
    wanted = full_reference(reference)
    store.get(reference)  # ImageNotFound names what exists
    users = [r["id"][:12] for r in states.all() if full_reference(r.get("image") or "x") == wanted]
    if users:
        raise ContainerError(f"conflict: unable to remove {reference!r}: used by container(s) "
                             f"{', '.join(users)}")
    index = store.layout.index()
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get(REF_NAME) != wanted]
    store.layout._write_index(index)
