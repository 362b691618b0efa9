# %% [markdown]
# # Exercises 4 — a container runtime
#
# Three functions of the runtime you met in `containers.ipynb`. Each is plugged into the
# running library afterwards, so the containers started below are configured by *your* code.
#
# **You will write:** `parse_volume` (Docker's `-v` syntax), `order_mounts` (in which order
# volumes are mounted) and `run_request_config` (the `config.json` for a `docker run`).
# **The reference** is in `fromscratch/runtime/spec.py` and `rootfs.py` — try first, read after.

# %%
import pytest

from fromscratch import exercises, host

MODE = host.show_mode()

# %% [markdown]
# ## Exercise 1 — `parse_volume` (3 points)
#
# `docker run -v` takes three shapes:
#
# | text | meaning |
# |---|---|
# | `/host/dir:/ctr/dir` | bind the host directory at `/ctr/dir`, read-write |
# | `/host/dir:/ctr/dir:ro` | the same, read-only (`rw` is also accepted) |
# | `/ctr/dir` or `/ctr/dir:ro` | an *anonymous* volume: the runtime makes a fresh host directory |
#
# Return an OCI mount: `{"destination": "/ctr/dir", "type": "bind", "source": "/host/dir" (None for an
# anonymous volume), "options": ["rbind", "rw" or "ro"]}`. Raise `ValueError` (mentioning
# "volume") for an empty string, an empty part, more than three parts, a mode other than
# `ro`/`rw`, or a relative path on either side (a bare name would be a *named* volume, which we
# do not support).

# %% nbgrader={"grade_id": "ch04_parse_volume", "solution": true}
def parse_volume(text: str) -> dict:
    """'-v' text -> an OCI bind mount (source None for an anonymous volume)."""
    ### BEGIN SOLUTION
    parts = text.split(":")
    if not text or len(parts) > 3 or any(not part for part in parts):
        raise ValueError(f"invalid volume {text!r}")
    if len(parts) == 1 or (len(parts) == 2 and parts[1] in ("ro", "rw")):
        source, destination, mode = None, parts[0], parts[1] if len(parts) == 2 else "rw"
    else:
        source, destination = parts[0], parts[1]
        mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise ValueError(f"invalid volume mode {mode!r}")
    if not destination.startswith("/") or (source is not None and not source.startswith("/")):
        raise ValueError(f"invalid volume {text!r}: paths must be absolute")
    return {"destination": destination, "type": "bind", "source": source, "options": ["rbind", mode]}
    ### END SOLUTION


# %% [markdown]
# The test checks the three shapes of the table. Getting them right matters: a mix-up between
# `/data:ro` (anonymous, read-only) and a host directory called `/data` mounted at `ro` would
# silently share the wrong files.

# %% nbgrader={"grade_id": "ch04_test_parse_volume_shapes", "grade": true, "points": 2}
with exercises.checking(parse_volume):
    assert parse_volume("/srv/www:/usr/share/www") == {
        "destination": "/usr/share/www", "type": "bind", "source": "/srv/www", "options": ["rbind", "rw"]}
    assert parse_volume("/srv:/data:ro")["options"] == ["rbind", "ro"]
    assert parse_volume("/cache")["source"] is None
    ### BEGIN HIDDEN TESTS
    assert parse_volume("/cache:ro") == {"destination": "/cache", "type": "bind", "source": None,
                                         "options": ["rbind", "ro"]}
    assert parse_volume("/a:/b:rw")["options"] == ["rbind", "rw"]
    assert parse_volume("/cache:rw")["source"] is None
    ### END HIDDEN TESTS

# %% [markdown]
# Bad input must be refused with an error that names the problem — never guessed at.

# %% nbgrader={"grade_id": "ch04_test_parse_volume_rejects", "grade": true, "points": 1}
with exercises.checking(parse_volume):
    for bad in ["", "/a:/b:rx", "data:/b"]:
        with pytest.raises(ValueError, match="volume"):
            parse_volume(bad)
    ### BEGIN HIDDEN TESTS
    for bad in ["/a:b", "/a::/b", "/a:/b:ro:x", "a", ":/b", "/a:"]:
        with pytest.raises(ValueError, match="volume"):
            parse_volume(bad)
    ### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 — `order_mounts` (3 points)
#
# Mounts happen one after another, and a later mount *hides* whatever an earlier one put below
# its mount point. With `-v /cache:/data/cache -v /srv:/data`, mounting `/data/cache` first and
# `/data` second would bury the cache. Docker therefore sorts a container's mounts by the number
# of components of their destination (`/` has 0, `/data` 1, `/data/cache` 2), keeping the
# given order between equals — a **stable** sort.
#
# Return the mounts (dicts with at least `"destination"`) in mounting order. Raise `ValueError`
# for a destination that is not absolute or that contains a `..` component. Note that `//a///b/`
# has two components.

# %% nbgrader={"grade_id": "ch04_order_mounts", "solution": true}
def order_mounts(mounts: list) -> list:
    """Parents before children; otherwise keep the given order."""
    ### BEGIN SOLUTION
    def depth(destination: str) -> int:
        return len([part for part in destination.split("/") if part])

    for mount in mounts:
        destination = mount["destination"]
        if not destination.startswith("/") or ".." in destination.split("/"):
            raise ValueError(f"bad mount destination {destination!r}")
    return sorted(mounts, key=lambda m: depth(m["destination"]))
    ### END SOLUTION


# %% nbgrader={"grade_id": "ch04_test_order_mounts", "grade": true, "points": 3}
with exercises.checking(order_mounts):
    mounts = [{"destination": "/data/cache"}, {"destination": "/data"}]
    assert [m["destination"] for m in order_mounts(mounts)] == ["/data", "/data/cache"]
    mounts = [{"destination": d} for d in ["/b", "/a", "/c/d"]]
    assert [m["destination"] for m in order_mounts(mounts)] == ["/b", "/a", "/c/d"]  # stable
    ### BEGIN HIDDEN TESTS
    mounts = [{"destination": d, "n": i} for i, d in enumerate(["/x/y/z", "//x///y/", "/x", "/", "/q"])]
    assert [m["n"] for m in order_mounts(mounts)] == [3, 2, 4, 1, 0]
    assert order_mounts([]) == []
    for bad in ["data", "/data/../etc", ""]:
        with pytest.raises(ValueError):
            order_mounts([{"destination": bad}])
    ### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3 — `run_request_config` (4 points)
#
# Build the `config.json` for a run request. Start from `default_spec(args, hostname=...)` (the
# document `runc spec` writes; import it from `fromscratch.runtime.spec`) and apply the request:
#
# - `args` — required, a non-empty **list** (else `ValueError`);
# - `env` — a dict added to the default environment (`PATH=…`, `TERM=xterm`); a name that is
#   already there keeps its place and takes the request's value;
# - `cwd` — default `/`, must be absolute (`ValueError`);
# - `hostname` — default `runc`;
# - `volumes` — `-v` strings: append one mount per volume to `mounts`, in the given order (use
#   your `parse_volume`);
# - `cpus` — a positive float: `linux.resources.cpu = {"quota": int(cpus * 100000), "period": 100000}`;
# - `memory` — positive bytes: `linux.resources.memory = {"limit": memory}`;
#   zero or negative `cpus`/`memory` raise `ValueError`.

# %% nbgrader={"grade_id": "ch04_run_request_config", "solution": true}
from fromscratch.runtime.spec import default_spec


def run_request_config(request: dict) -> dict:
    """The config.json (a dict) for a run request."""
    ### BEGIN SOLUTION
    args = request.get("args")
    if not args or isinstance(args, str):
        raise ValueError("args must be a non-empty list")
    config = default_spec(list(args), hostname=request.get("hostname", "runc"))
    process = config["process"]
    env = dict(item.split("=", 1) for item in process["env"])
    env.update(request.get("env", {}))
    process["env"] = [f"{name}={value}" for name, value in env.items()]
    process["cwd"] = request.get("cwd", "/")
    if not process["cwd"].startswith("/"):
        raise ValueError("cwd must be absolute")
    for volume in request.get("volumes", []):
        config["mounts"].append(parse_volume(volume))
    resources = config["linux"]["resources"]
    if request.get("cpus") is not None:
        if request["cpus"] <= 0:
            raise ValueError("cpus must be positive")
        resources["cpu"] = {"quota": int(request["cpus"] * 100000), "period": 100000}
    if request.get("memory") is not None:
        if request["memory"] <= 0:
            raise ValueError("memory must be positive")
        resources["memory"] = {"limit": request["memory"]}
    return config
    ### END SOLUTION


# %% [markdown]
# The first test runs a typical request; the second checks the environment rule — the one Docker
# users trip on when they set `PATH` with `-e`.

# %% nbgrader={"grade_id": "ch04_test_run_request_config", "grade": true, "points": 2}
with exercises.checking(run_request_config):
    config = run_request_config({"args": ["sh", "-c", "echo hi"], "cpus": 1.5, "memory": 2**26,
                                 "volumes": ["/srv:/data:ro"], "hostname": "web", "cwd": "/tmp"})
    assert config["process"]["args"] == ["sh", "-c", "echo hi"]
    assert config["hostname"] == "web" and config["process"]["cwd"] == "/tmp"
    assert config["linux"]["resources"]["cpu"] == {"quota": 150000, "period": 100000}
    assert config["linux"]["resources"]["memory"] == {"limit": 2**26}
    assert config["mounts"][-1]["destination"] == "/data"
    ### BEGIN HIDDEN TESTS
    plain = run_request_config({"args": ["true"]})
    assert plain["hostname"] == "runc" and plain["process"]["cwd"] == "/"
    assert "cpu" not in plain["linux"]["resources"] and "memory" not in plain["linux"]["resources"]
    assert len(plain["mounts"]) == 6
    two = run_request_config({"args": ["true"], "volumes": ["/a:/x", "/y"]})
    assert [m["destination"] for m in two["mounts"][-2:]] == ["/x", "/y"]
    assert run_request_config({"args": ["true"], "cpus": 0.25})["linux"]["resources"]["cpu"]["quota"] == 25000
    for bad in [{"args": []}, {"args": "sh"}, {}, {"args": ["x"], "cwd": "tmp"},
                {"args": ["x"], "cpus": 0}, {"args": ["x"], "memory": -5}]:
        with pytest.raises(ValueError):
            run_request_config(bad)
    ### END HIDDEN TESTS

# %% nbgrader={"grade_id": "ch04_test_run_request_env", "grade": true, "points": 2}
with exercises.checking(run_request_config):
    config = run_request_config({"args": ["env"], "env": {"A": "1"}})
    assert config["process"]["env"][-1] == "A=1"
    ### BEGIN HIDDEN TESTS
    config = run_request_config({"args": ["env"], "env": {"PATH": "/bin", "B": "2"}})
    assert config["process"]["env"] == ["PATH=/bin", "TERM=xterm", "B=2"]
    assert run_request_config({"args": ["env"], "env": {"X": "a=b"}})["process"]["env"][-1] == "X=a=b"
    ### END HIDDEN TESTS

# %% [markdown]
# ## Your functions, inside the runtime
#
# Plug all three in. The engine now builds every container's `config.json` with your
# `run_request_config`, and the runtime mounts volumes in the order your `order_mounts` gives.
# Here a container gets two nested volumes — which only works if the parent is mounted first.

# %%
import tempfile
from pathlib import Path

from fromscratch.image.base import ensure_base_image
from fromscratch.image.store import ImageStore
from fromscratch.runtime import engine
from fromscratch.runtime.state import StateDir

for mine in (parse_volume, order_mounts, run_request_config):
    exercises.use(mine)

work = Path(tempfile.mkdtemp(prefix="exercises4-"))
(work / "outer").mkdir()
(work / "inner").mkdir()
(work / "inner" / "note.txt").write_text("the inner volume is visible\n")
store, states = ImageStore(work / "images"), StateDir(work / "containers")
ensure_base_image(store)
container = engine.create_from_image(
    "busybox", {"args": ["sh", "-c", "cat /data/cache/note.txt"],
                "volumes": [f"{work / 'inner'}:/data/cache:ro", f"{work / 'outer'}:/data"]},
    store=store, states=states, mode="real" if MODE == "real" else "simulated",
    cgroup_root="fromscratch-exercises")
container.start()
print("exit code:", container.wait())
print(container.logs())
engine.remove(container)
print("calls to your run_request_config:", exercises.plug_point("run_request_config").calls_to_learner)
if MODE == "real":  # the (now empty) parent of this notebook's cgroups
    from fromscratch.linux.cgroups import open_cgroup

    open_cgroup("fromscratch-exercises", root="", mode="real").remove()

# %% [markdown]
# ## Summary
#
# You wrote the part of `docker run` that turns a command line into an OCI runtime configuration.
# The real ones: `opts/mount.go` and `volume/mounts/linux_parser.go` in moby (the `-v` grammar has
# more: named volumes, `:z`/`:Z` SELinux labels, propagation options), `sortMounts` in
# `daemon/volumes.go`, and `oci/defaults.go` (Docker's default spec, larger than `runc spec`'s).
#
# **Next:** chapter 5, [Pods](../05-pods/).
