# %% [markdown]
# # Chapter 3b — Images: Dockerfiles, layers, digests and the build cache
#
# The previous notebook stacked layers by hand. Here a **Dockerfile** makes them: each
# instruction is one build step; `RUN`, `COPY` and `ADD` each produce a layer (the changes the
# step made, as a tar), every other instruction only edits the image's configuration. The
# result is stored as an **OCI image**: content-addressed blobs named by their sha256, which
# `skopeo` and `umoci` — real tools from the container ecosystem — can read. You will:
#
# - build a tiny base image offline, from Debian's static `busybox`;
# - parse a Dockerfile and build an image step by step, with layer sizes and digests;
# - rebuild and watch the cache skip every step, then change one file and watch what reruns;
# - adapt the classic CentOS/httpd and Tomcat examples to our base image;
# - open the OCI layout, check it with `skopeo`/`umoci`, and see what command a container runs.
#
# **Prerequisites:** `union-filesystems.ipynb` (layers, whiteouts). **Where the code lives:**
# `fromscratch/image/` — `dockerfile.py` (parser), `builder.py` (the build loop), `run.py`
# (`RUN` in a throw-away container), `cache.py`, `layers.py` (DiffID, ChainID), `oci.py`
# (the OCI layout), `base.py` (the offline base image) and `argv.py` (ENTRYPOINT/CMD).

# %%
from fromscratch import host

MODE = host.show_mode()

# %% [markdown]
# Everything in this notebook goes into a temporary image store, so it leaves your real one
# (`~/.local/share/fromscratch/images`, used by `python -m fromscratch build`) untouched.

# %%
import shutil
import tempfile
from pathlib import Path

from fromscratch.image.store import ImageStore

work = Path(tempfile.mkdtemp(prefix="chapter3b-"))
store = ImageStore(work / "store")
print("image store:", store.root)

# %% [markdown]
# ## 1. A base image without a registry
#
# `busybox` is one statically linked program that behaves as `sh`, `ls`, `httpd` and ~300 other
# commands depending on the name it was started under (`argv[0]`). The base image is a single
# layer: the usual directories, `/etc/passwd`, `/bin/busybox`, and one symlink per command.

# %%
from fromscratch.image.base import ensure_base_image, find_busybox

busybox = ensure_base_image(store)
print("static busybox found at:", find_busybox())
print("layers:", len(busybox.layers), "| gzip size:", busybox.layers[0]["size"], "bytes")
print("DiffID:", busybox.diff_ids[0])
print("label:", busybox.config["config"]["Labels"])

# %% [markdown]
# ## 2. Reading a Dockerfile
#
# The parser joins lines ending in `\`, drops comments, and tells the **exec form** (a JSON
# array: run this program with these arguments) from the **shell form** (a string, run by
# `/bin/sh -c`). Here is the classic "CentOS + httpd" example adapted to busybox, whose
# `httpd` applet plays Apache:

# %%
httpd_dir = work / "httpd"
httpd_dir.mkdir()
(httpd_dir / "index.html").write_text("<h1>Hello from a layer</h1>\n")
(httpd_dir / "Dockerfile").write_text("""\
# The seed notes' CentOS/httpd example, on the offline busybox base image
FROM busybox
MAINTAINER Course Team <team@example.org>
LABEL org.opencontainers.image.title="httpd demo"
RUN mkdir -p /var/www/html && \\
    echo "built by RUN" > /var/www/html/build.txt
COPY index.html /var/www/html/
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/var/www/html"]
""")

from fromscratch.image.dockerfile import command_form, parse

for instruction in parse((httpd_dir / "Dockerfile").read_text()):
    form = command_form(instruction.args) if instruction.keyword in ("RUN", "CMD") else ""
    kind = "exec form" if isinstance(form, list) else ("shell form" if form else "")
    print(f"line {instruction.lineno}: {instruction.keyword:<11} {kind}")

# %% [markdown]
# ## 3. Building, step by step
#
# `build` runs the steps in order and prints Docker-style progress. How `RUN` executes depends
# on the mode, and the output says which: in real and rootless mode it is a throw-away
# container (new mount, PID, UTS, IPC and network namespaces; the layers so far stacked with
# overlayfs; `chroot`); in simulated mode the command is interpreted by a small simulated shell
# against an unpacked copy of the layers. Either way, the step's **changes** become the layer.

# %%
from fromscratch.image.builder import build

first = build(httpd_dir, tag="httpd-demo:1", store=store)

# %% [markdown]
# Each layer has three numbers. The manifest names a layer by the digest of its **gzip blob**;
# the config names it by its **DiffID**, the digest of the *uncompressed* tar (compression
# settings must not change an image's identity); and the **ChainID** names the whole stack up
# to that layer: `ChainID(n) = sha256(ChainID(n-1) + " " + DiffID(n))`. Snapshotters cache
# unpacked stacks by ChainID.

# %%
from fromscratch.image.layers import chain_ids

image = first.image
print(f"{'created by':<44}{'gzip bytes':>11}  {'DiffID':<14}{'ChainID':<14}")
layer_history = [h for h in image.config["history"] if not h.get("empty_layer")]
for history, layer, diff, chain in zip(layer_history, image.layers, image.diff_ids,
                                       chain_ids(image.diff_ids), strict=True):
    print(f"{history['created_by'][:42]:<44}{layer['size']:>11}  {diff[7:19]:<14}{chain[7:19]}")
print("empty_layer steps:", [h["created_by"].split()[0] for h in image.config["history"]
                             if h.get("empty_layer")])

# %% [markdown]
# ## 4. The build cache
#
# Build the same Dockerfile again. Each step's cache key is the parent's ChainID, the parent's
# config, the instruction text, and — for `COPY`/`ADD` — a checksum of the copied files. Every
# step is found; the image ID (the digest of its config) is identical.

# %%
second = build(httpd_dir, tag="httpd-demo:1", store=store)
print("same image:", second.image.id == first.image.id)

# %% [markdown]
# Now change only `index.html`. The `RUN` step is still cached; the `COPY` step's checksum
# changed, so it reruns — and so does everything after it, because their parent changed.

# %%
(httpd_dir / "index.html").write_text("<h1>Hello again</h1>\n")
third = build(httpd_dir, tag="httpd-demo:2", store=store, progress=None)
for step in third.steps:
    state = "CACHED " if step.cached else "base   " if step.number == 1 else "rebuilt"
    print(f"step {step.number}: {state}  {step.text[:50]}")

# %%
from fromscratch.image.diagram import plot_build_times

figure = plot_build_times([(s.text[:30], s.seconds) for s in first.steps],
                          [(s.text[:30], s.seconds) for s in second.steps])

# %% [markdown]
# ## 5. The Tomcat example: ADD, ENV, WORKDIR, HEALTHCHECK, ENTRYPOINT
#
# The seed notes' Tomcat image downloads a tarball, unpacks it under `$CATALINA_HOME`, and starts
# `catalina.sh run`. Offline, we pack a small "Tomcat" ourselves: `ADD` of a local archive
# **unpacks** it (downloads of URLs need a network, and fail with a clear error here).

# %%
import io
import tarfile

tomcat_dir = work / "tomcat"
tomcat_dir.mkdir()
files = {
    "tomcat/bin/catalina.sh": "#!/bin/sh\necho \"catalina: serving $CATALINA_HOME/webapps\"\n"
                              "exec httpd -f -p 8080 -h \"$CATALINA_HOME/webapps\"\n",
    "tomcat/webapps/index.html": "<h1>It works (not really Tomcat)</h1>\n",
}
with tarfile.open(tomcat_dir / "tomcat.tar.gz", "w:gz") as archive:
    for name, text in files.items():
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(text), 0o755
        archive.addfile(info, io.BytesIO(text.encode()))

(tomcat_dir / "Dockerfile").write_text("""\
FROM busybox
ARG VERSION=9.0
ENV CATALINA_HOME=/opt/tomcat \\
    TOMCAT_VERSION=${VERSION}
WORKDIR $CATALINA_HOME
ADD tomcat.tar.gz /opt/
RUN echo "version $TOMCAT_VERSION" > RELEASE-NOTES
EXPOSE 8080
VOLUME ["/opt/tomcat/logs"]
USER www-data
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q -O /dev/null http://127.0.0.1:8080/
ENTRYPOINT ["/opt/tomcat/bin/catalina.sh"]
CMD ["run"]
""")
tomcat = build(tomcat_dir, tag="tomcat-demo:9", store=store, build_args={"VERSION": "9.0.99"},
               progress=None)
config = tomcat.image.config["config"]
for key in ("Env", "WorkingDir", "User", "ExposedPorts", "Volumes", "Healthcheck",
            "Entrypoint", "Cmd"):
    print(f"{key:<13}{config.get(key)}")

# %% [markdown]
# `HEALTHCHECK` durations are stored in nanoseconds, as Docker stores them. Note `USER www-data`
# comes *after* the `RUN`, so the build step ran as root and only the container will not.

# %% [markdown]
# ## 6. The OCI image layout on disk
#
# The store is an [OCI image layout](https://github.com/opencontainers/image-spec/blob/main/image-layout.md):
# `index.json` lists tagged manifests; every manifest, config and layer is a blob named by its
# sha256. Follow the pointers by hand:

# %%
import json

index = json.loads((store.layout.root / "index.json").read_text())
for entry in index["manifests"]:
    print(entry["annotations"]["org.opencontainers.image.ref.name"], "->", entry["digest"][:19])
manifest = store.layout.read_json(next(
    e for e in index["manifests"]
    if e["annotations"]["org.opencontainers.image.ref.name"] == "tomcat-demo:9"))
print(json.dumps({k: v for k, v in manifest.items() if k != "layers"}, indent=1)[:400])
print("layers:", [layer["digest"][:19] for layer in manifest["layers"]])

# %% [markdown]
# **Check against the real tools.** `skopeo inspect` reads our layout like any registry image,
# and `umoci unpack` turns it into an OCI runtime bundle (a root filesystem plus `config.json`)
# — with the whiteouts applied. (Install them with `apt-get install skopeo umoci`; the cells
# say so if they are missing.)

# %%
import os
import subprocess

skopeo, umoci = shutil.which("skopeo"), shutil.which("umoci")
if skopeo:
    info = json.loads(subprocess.run(
        [skopeo, "inspect", f"oci:{store.layout.root}:tomcat-demo:9"],
        capture_output=True, text=True, check=True).stdout)
    print("skopeo sees", len(info["Layers"]), "layers, env", info["Env"][-2:])
else:
    print("skopeo is not installed: skipping")
if umoci:
    # as an ordinary user umoci must be told to unpack rootless (no chown to other owners)
    rootless = ["--rootless"] if os.geteuid() != 0 else []
    subprocess.run([umoci, "unpack", *rootless, "--image", f"{store.layout.root}:tomcat-demo:9",
                    str(work / "bundle")], capture_output=True, check=True)
    runtime = json.loads((work / "bundle" / "config.json").read_text())
    print("umoci bundle: args", runtime["process"]["args"], "cwd", runtime["process"]["cwd"])
    print("RELEASE-NOTES:", (work / "bundle/rootfs/opt/tomcat/RELEASE-NOTES").read_text())
else:
    print("umoci is not installed: skipping")

# %% [markdown]
# ## 7. What does the container run?
#
# `ENTRYPOINT` and `CMD` combine by a table in Docker's reference: an exec-form ENTRYPOINT gets
# CMD appended as arguments, a shell-form one ignores CMD, and arguments given to `docker run`
# replace CMD. `resolve_argv` implements the table (you will write it in the exercises).

# %%
from fromscratch.image.argv import config_argv, resolve_argv

print(resolve_argv(["/opt/tomcat/bin/catalina.sh"], ["run"]))
print(resolve_argv(["/opt/tomcat/bin/catalina.sh"], ["run"], ["configtest"]))
print(resolve_argv("catalina.sh run", ["ignored"]))
print(config_argv(store.get("httpd-demo:2").config["config"]))

# %% [markdown]
# Finally, run a one-shot command in the built image — the same throw-away container a `RUN` step
# uses (chapter 4 builds the real runtime). The command reads the files our layers put there.

# %%
from fromscratch.image.run import run_step

result = run_step(store=store, layers=store.get("httpd-demo:2").layers,
                  argv=["cat", "/var/www/html/index.html", "/var/www/html/build.txt"],
                  env={"PATH": "/bin"}, mode=MODE, scratch=work / "run")
print("exit code:", result.exit_code, "|", result.isolation)

# %%
shutil.rmtree(work, ignore_errors=True)

# %% [markdown]
# ## Summary
#
# - A Dockerfile is a list of steps; `RUN`/`COPY`/`ADD` add a layer each, the rest edit the
#   config and leave an `empty_layer` history entry.
# - A layer is named three ways: blob digest (gzip), DiffID (tar), ChainID (the stack so far).
# - The cache key of a step is its parent plus its own inputs; one changed input rebuilds that
#   step and every step after it.
# - An OCI image is a directory of content-addressed blobs; the course's images are readable by
#   `skopeo` and `umoci`, and `ENTRYPOINT`/`CMD` resolve exactly as in Docker's table.
#
# ## Going further
#
# - Dockerfile reference: <https://docs.docker.com/reference/dockerfile/> (including the
#   ENTRYPOINT/CMD table and the cache rules in "Build cache").
# - OCI image-spec: `image-layout.md`, `manifest.md`, `config.md` (DiffID and ChainID).
# - `umoci`'s `oci/layer` package for unpacking, and BuildKit's `dockerfile2llb` for a
#   modern builder.
#
# **Next:** the exercises in `exercises.ipynb`, then chapter 4, the container runtime.
