# %% [markdown]
# # Chapter 3a — Union filesystems: layers, whiteouts and the kernel's overlay
#
# An image is "just a compressed package" of a root filesystem — but not one package: a
# **stack of layers**, each holding only what one build step changed. When a container starts,
# the layers are **union-mounted**: stacked read-only, with one writable layer on top, and shown
# as a single directory tree. Deleting a file that lives in a lower layer cannot touch that
# layer, so the top layer records a **whiteout** instead. `docker commit` keeps only the
# writable layer. In this notebook you will:
#
# - write layers as plain Python data and merge them by overlayfs's rules;
# - look at the same layers on disk, with whiteouts as character devices 0/0;
# - let the kernel mount them and check our merge against it;
# - watch copy-up and whiteouts happen as a container writes;
# - lay out a container's filesystem (image layers, *init* layer, read-write layer) and commit it.
#
# **Prerequisites:** chapter 1 (mount namespaces). **Where the code lives:**
# `fromscratch/image/union.py` (the pure union view), `fromscratch/linux/overlay.py` (real
# mounts, rootless too), `fromscratch/sim/filesystem.py` (the simulated mount),
# `fromscratch/image/layers.py` (layer tars) and `fromscratch/image/commit.py`.

# %%
from fromscratch import host

MODE = host.show_mode()

# %% [markdown]
# ## 1. Layers as data
#
# A layer is a set of paths. In `fromscratch.image.union` a layer is a dict from a path
# (relative, no leading `/`) to a `Node`: a `file(...)` with its bytes, a `DIR`, an `OPAQUE_DIR`
# (more below), a `symlink(...)`, or a `WHITEOUT`. Here is a three-layer image: a base system,
# an application, and a clean-up step that deletes a file and empties the log directory.

# %%
from fromscratch.image import union as u
from fromscratch.image.union import DIR, OPAQUE_DIR, WHITEOUT, file, symlink

base = {
    "bin": DIR, "bin/busybox": file("ELF..."), "bin/sh": symlink("busybox"),
    "etc": DIR, "etc/motd": file("Welcome!"), "etc/hosts": file("127.0.0.1 localhost"),
    "var": DIR, "var/log": DIR, "var/log/install.log": file("lots of noise"),
}
app = {
    "srv": DIR, "srv/app.py": file("print('hello')"),
    "etc": DIR, "etc/hosts": file("127.0.0.1 localhost app"),
}
cleanup = {
    "etc": DIR, "etc/motd": WHITEOUT,
    "var": DIR, "var/log": OPAQUE_DIR, "var/log/README": file("logs go to stdout"),
}
stack = [base, app, cleanup]  # bottom first, like the "layers" list of an OCI manifest
print(u.render(cleanup))

# %% [markdown]
# ## 2. Merging: what the container sees
#
# overlayfs answers "what is at this path?" by looking **from the top layer down**:
#
# 1. the first layer that has the name decides — a *whiteout* hides it, a file (or symlink) is
#    the answer and hides everything below it;
# 2. a directory is **merged** with the same directory in the layers below, until a layer has a
#    whiteout or a non-directory there, or until an **opaque** directory (which hides everything
#    below it but keeps its own contents);
# 3. a layer takes part in `a/b` only if it took part in `a`.
#
# `merge_layers` implements exactly that (you will write it yourself in the exercises).

# %%
merged = u.merge_layers(stack)
print(u.render(merged))

# %% [markdown]
# The picture reads the same rule off a grid: for each path (column), look down from the top
# layer until a cell decides. `etc/motd` is whited out, `etc/hosts` comes from the app layer,
# and the opaque `var/log` hides `install.log`.

# %%
from fromscratch.image.diagram import plot_stack

figure = plot_stack(stack, merged, names=["base", "app", "cleanup"])

# %% [markdown]
# Two more rules worth seeing on their own: a **file replaces a directory** (and all of its
# children), and a **directory replaces a file** without merging anything.

# %%
print(u.render(u.merge_layers([base, {"var": file("var is a file now")}])))
print("---")
print(u.render(u.merge_layers([{"data": file("x")}, {"data": DIR, "data/a": file("a")}])))

# %% [markdown]
# ## 3. The same layers on disk
#
# The kernel cannot read Python dicts. For overlayfs a layer is a **directory**; a whiteout is
# a **character device with device number 0/0**; an opaque directory carries the extended
# attribute `trusted.overlay.opaque=y` (or `user.overlay.opaque=y` when mounted with the
# `userxattr` option, as rootless containers do). `write_layer_dir` writes a layer that way.

# %%
import os
import subprocess
import tempfile
from pathlib import Path

from fromscratch.image.mounting import on_overlay, uses_userxattr

USERXATTR = uses_userxattr(MODE)
work = Path(tempfile.mkdtemp(prefix="chapter3-"))
layer_dirs = []
for name, layer in zip(["base", "app", "cleanup"], stack, strict=True):
    u.write_layer_dir(layer, work / name, userxattr=USERXATTR)
    layer_dirs.append(work / name)
print(subprocess.run(["ls", "-la", str(work / "cleanup" / "etc")], capture_output=True,
                     text=True).stdout)

# %% [markdown]
# The `c` at the start of `motd`'s line and the `0, 0` where a size would be: a character
# device 0/0, the whiteout. And the opaque marker on `var/log`:

# %%
from fromscratch.linux.overlay import OPAQUE_XATTR, is_opaque

print(OPAQUE_XATTR[USERXATTR], "on cleanup/var/log:",
      is_opaque(work / "cleanup" / "var" / "log", userxattr=USERXATTR))

# %% [markdown]
# ## 4. Let the kernel merge them — and check our merge
#
# Now mount the three directories as overlay `lowerdir`s and list the result. The kernel wants
# the **top** layer first in `lowerdir=`, so `lowerdir_option` reverses our bottom-first list:

# %%
from fromscratch.linux.overlay import overlay_options

print("mount -t overlay overlay -o", overlay_options(layer_dirs, None, None,
                                                    userxattr=USERXATTR), work / "merged")

# %% [markdown]
# In real mode this is a real overlayfs mount inside a private mount namespace (it vanishes
# with the child process that made it); rootless, the same inside a user namespace; simulated,
# the layers are copied into the directory the way Docker's `vfs` driver does. In every mode the
# listing must equal `merge_layers` — **the kernel is the reference**, like micrograd checking
# its gradients against PyTorch. (The course's tests do this on hundreds of generated stacks.)

# %%
kernel_view = on_overlay(mode=MODE, lowers=layer_dirs, target=work / "merged",
                         action=u.snapshot)
print("mode:", MODE, "| the kernel agrees with merge_layers:", kernel_view == merged)
print(u.render(kernel_view))

# %% [markdown]
# ## 5. A container writes: copy-up and whiteouts made by the kernel
#
# Add an empty `upperdir` (the writable layer) and a `workdir` (overlay's scratch space). Then,
# through the merged view, change a lower file, delete one, and replace a directory. The lower
# directories never change; everything lands in the upper directory.

# %%
for name in ("upper", "work"):
    (work / name).mkdir(exist_ok=True)


def container_writes(root: Path) -> list[str]:
    (root / "etc" / "hosts").write_text("127.0.0.1 localhost changed")  # copy-up, then write
    (root / "bin" / "sh").unlink()  # a lower file: needs a whiteout
    (root / "srv" / "app.py").unlink()
    (root / "srv").rmdir()
    (root / "srv").mkdir()  # a new directory where a lower one was: opaque
    (root / "srv" / "v2.py").write_text("print('v2')")
    return sorted(p.name for p in root.iterdir())


seen = on_overlay(mode=MODE, lowers=layer_dirs, upper=work / "upper", work=work / "work",
                  target=work / "merged", action=container_writes)
print("the container saw:", seen)
print(u.render(u.layer_from_dir(work / "upper", userxattr=USERXATTR)))

# %% [markdown]
# The upper directory holds the copied-up `etc/hosts`, a whiteout for `bin/sh`, and `srv` as an
# *opaque* directory so the old `app.py` stays hidden. (The simulated mount has no kernel to
# watch the writes; it compares the tree before and after, so it records the same result as a
# whiteout for `app.py` instead.) The base layer is untouched:

# %%
print("base layer's hosts:", (work / "base" / "etc" / "hosts").read_text())
print("base layer still has bin/sh:", (work / "base" / "bin" / "sh").is_symlink())

# %% [markdown]
# ## 6. From upper directory to an image layer
#
# Registries don't ship character devices. The OCI image-spec writes a layer as a tar in which a
# deleted `x` is an empty file named `.wh.x`, and an opaque directory contains `.wh..wh..opq`.
# `changes_from_upper` reads what the kernel recorded; `write_changes_tar` writes the OCI tar.

# %%
import io
import tarfile

from fromscratch.image.layers import changes_from_upper, write_changes_tar

changes = changes_from_upper(work / "upper", userxattr=USERXATTR)
buffer = io.BytesIO()
write_changes_tar(work / "upper", changes, buffer)
with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as archive:
    for member in archive.getmembers():
        print(f"{member.name:<24} {'dir' if member.isdir() else member.size}")

# %% [markdown]
# Read back as a layer, the tar means the same thing as the upper directory: stacking it on the
# three lower layers gives what the container saw.

# %%
tar_layer = u.layer_from_tar_bytes(buffer.getvalue())
print(sorted(u.merge_layers(stack + [tar_layer])) == sorted(
    on_overlay(mode=MODE, lowers=layer_dirs + [work / "upper"], target=work / "merged",
               action=u.snapshot)))

# %% [markdown]
# ## 7. A container's filesystem, and `commit`
#
# Docker stacks three kinds of layers for each container: the image's read-only layers, an
# **init** layer with the files the engine writes for this container (`/etc/hosts`,
# `/etc/hostname`, `/etc/resolv.conf`), and the read-write layer. `docker commit` turns **only
# the read-write layer** into a new image layer, so the init files never leak into an image.
#
# We need an image first: the course builds a tiny base image offline from Debian's static
# `busybox` (the next notebook explains how). It goes into a throw-away image store here.

# %%
from fromscratch.image.base import ensure_base_image
from fromscratch.image.commit import commit, fingerprint, prepare_rootfs
from fromscratch.image.store import ImageStore

store = ImageStore(work / "store")
busybox = ensure_base_image(store)
rootfs = prepare_rootfs(store, "busybox", work / "container-1", hostname="web-1",
                        userxattr=USERXATTR)
print("lowerdirs (bottom first):", *[str(p) for p in rootfs.lowers], sep="\n  ")


# %%
def make_changes(root: Path) -> str:
    (root / "root" / "notes.txt").write_text("written in the container")
    (root / "etc" / "hosts").write_text("127.0.0.1 tampered")  # an init file
    return (root / "etc" / "hostname").read_text()


before = None
if MODE == "simulated":  # no kernel keeps an upper dir for us: remember the tree, diff later
    from fromscratch.sim import filesystem

    filesystem.mount_overlay(lowers=rootfs.lowers, target=rootfs.merged, userxattr=True)
    before = fingerprint(rootfs)
    print("hostname in the container:", make_changes(rootfs.merged))
    snapshot = commit(store, rootfs, "busybox-notes:1", before=before, comment="notes added")
    filesystem.unmount(rootfs.merged)
else:
    print("hostname in the container:",
          on_overlay(mode=MODE, lowers=rootfs.lowers, upper=rootfs.upper, work=rootfs.work,
                     target=rootfs.merged, action=make_changes))
    snapshot = commit(store, rootfs, "busybox-notes:1", userxattr=USERXATTR,
                      comment="notes added")

with tarfile.open(store.layout.blob_path(snapshot.layers[-1]["digest"])) as archive:
    print("the committed layer holds:", archive.getnames())
print("image layers:", len(busybox.layers), "->", len(snapshot.layers))

# %% [markdown]
# The committed layer has `root/notes.txt` and nothing from `/etc`: the init layer, and even
# the container's edit of `/etc/hosts`, stay out of the image.

# %%
import shutil

shutil.rmtree(work, ignore_errors=True)

# %% [markdown]
# ## Summary
#
# - A layer is a set of changes; an image is a stack of them, bottom first.
# - The union view is decided top-down: whiteouts hide, non-directories win, directories merge
#   until an opaque directory, a whiteout or a non-directory stops them.
# - On disk, overlayfs marks whiteouts as 0/0 character devices and opaque directories with an
#   xattr; in image tars they are `.wh.` files. Unpacking translates one into the other.
# - A container writes into its upper directory (copy-up); `commit` turns only that layer into
#   an image layer, never the init layer.
#
# ## Going further
#
# - The kernel's documentation, *Overlay Filesystem* (`Documentation/filesystems/overlayfs.rst`),
#   and the lookup code in `fs/overlayfs/namei.c`.
# - OCI image-spec, *Image Layer Filesystem Changeset* (`layer.md`): whiteouts and opaque whiteouts.
# - Docker's `overlay2` storage driver and containerd's overlay snapshotter, which do exactly
#   what section 7 does for every container.
#
# **Next:** `images.ipynb` builds images from Dockerfiles on top of these layers.
