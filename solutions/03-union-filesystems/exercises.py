# %% [markdown]
# # Exercises 3 — union filesystems and images
#
# Six small functions sit at the heart of every image tool. You will write each one, and after
# each exercise the library uses **your** version: your merge is compared with the kernel's
# overlay mount, your ChainIDs name the layers of a real build, your parser reads the
# Dockerfile, and your tar check guards the unpacker.
#
# **You will write:** `merge_layers`, `chain_ids`, `resolve_argv`, `logical_lines`,
# `command_form` and `check_member`.
# **The references** are in `fromscratch/image/union.py`, `layers.py`, `argv.py`,
# `dockerfile.py` and `extract.py` — try the exercises before reading them.
#
# **Prerequisites:** the two lesson notebooks of this chapter (`union-filesystems.ipynb`,
# `images.ipynb`).

# %%
from fromscratch import exercises, host

MODE = host.show_mode()

# %% [markdown]
# The demos use a throw-away image store and scratch directory:

# %%
import shutil
import tempfile
from pathlib import Path

from fromscratch.image.store import ImageStore

work = Path(tempfile.mkdtemp(prefix="exercises3-"))
store = ImageStore(work / "store")

# %% [markdown]
# ## Exercise 1 — merge a layer stack (4 points)
#
# A layer is a dict `{path: Node}` (paths like `"etc/hosts"`, no leading `/`). A `Node` has a
# `kind` — `"file"`, `"dir"`, `"symlink"` or `"whiteout"` — and directories have `opaque`
# (True or False). `layers` is **bottom first**. Return the merged tree overlayfs shows: a dict
# `{path: Node}` with no whiteouts, where every directory is the plain `DIR` (no opaque flag)
# and files and symlinks are the `Node` from the layer that wins. The rules, looking from the
# top layer down:
#
# 1. the first layer that has the name decides: a whiteout hides it; a file or symlink is the
#    answer and hides everything below it (also a directory below it);
# 2. a directory merges with the same-named directories in the layers below it, stopping at the
#    first whiteout or non-directory, and **after** the first opaque directory;
# 3. a layer takes part in `a/b` only if it took part in `a` (so an opaque `a` hides a lower
#    `a/b` even if no layer above mentions `a/b`).

# %% nbgrader={"grade_id": "ch03_merge_layers", "solution": true}
from fromscratch.image.union import DIR, OPAQUE_DIR, WHITEOUT, Node, file, symlink


def merge_layers(layers: list[dict[str, Node]]) -> dict[str, Node]:
    """The tree overlayfs shows for ``layers`` (bottom first)."""
    ### BEGIN SOLUTION
    merged: dict[str, Node] = {}

    def visit(directory: str, participants: list[dict[str, Node]]) -> None:
        names = set()
        for layer in participants:
            for path in layer:
                parent, _, name = path.rpartition("/")
                if path and parent == directory:
                    names.add(name)
        for name in sorted(names):
            path = f"{directory}/{name}" if directory else name
            below = []
            for layer in participants:
                node = layer.get(path)
                if node is None:
                    continue
                if not below:
                    if node.kind == "whiteout":
                        break
                    if node.kind != "dir":
                        merged[path] = node
                        break
                    merged[path] = DIR
                elif node.kind != "dir":
                    break
                below.append(layer)
                if node.opaque:
                    break
            if below:
                visit(path, below)

    visit("", list(reversed(layers)))
    return merged
    ### END SOLUTION


# %% [markdown]
# The first test checks the three basic rules on a small image: a whiteout hides a lower file,
# an upper file wins, and an opaque directory hides what is below it but keeps its own files.

# %% nbgrader={"grade_id": "ch03_test_merge_layers_basics", "grade": true, "points": 2}
base = {"etc": DIR, "etc/motd": file("hi"), "etc/hosts": file("h"),
        "var": DIR, "var/log": DIR, "var/log/old": file("o")}
top = {"etc": DIR, "etc/motd": WHITEOUT, "etc/hosts": file("new"),
       "var": DIR, "var/log": OPAQUE_DIR, "var/log/fresh": file("f")}
with exercises.checking(merge_layers):
    merged = merge_layers([base, top])
    assert "etc/motd" not in merged
    assert merged["etc/hosts"] == file("new")
    assert "var/log/old" not in merged and merged["var/log/fresh"] == file("f")
    assert merged["var/log"] == DIR  # no opaque flag in the merged view
    ### BEGIN HIDDEN TESTS
    assert merge_layers([base]) == base
    assert merge_layers([]) == {}
    assert merge_layers([{"ghost": WHITEOUT}]) == {}
    assert merge_layers([{"l": symlink("x")}, {"l": symlink("y")}]) == {"l": symlink("y")}
    ### END HIDDEN TESTS

# %% [markdown]
# The second test covers replacement and the rules about which layers take part: a file over a
# directory, a directory over a file, a whiteout or a file in a *middle* layer that stops the
# merge, and an opaque directory in a *lower* layer.

# %% nbgrader={"grade_id": "ch03_test_merge_layers_replacement", "grade": true, "points": 2}
with exercises.checking(merge_layers):
    assert merge_layers([base, {"var": file("x")}]) == {
        "etc": DIR, "etc/motd": file("hi"), "etc/hosts": file("h"), "var": file("x")}
    assert merge_layers([{"d": file("x")}, {"d": DIR, "d/a": file("a")}]) == {
        "d": DIR, "d/a": file("a")}
    ### BEGIN HIDDEN TESTS
    bottom = {"d": DIR, "d/old": file("old")}
    assert merge_layers([bottom, {"d": file("f")}, {"d": DIR, "d/new": file("n")}]) == {
        "d": DIR, "d/new": file("n")}
    assert merge_layers([bottom, {"d": WHITEOUT}, {"d": DIR, "d/new": file("n")}]) == {
        "d": DIR, "d/new": file("n")}
    middle = {"d": OPAQUE_DIR, "d/b": file("b")}
    assert set(merge_layers([bottom, middle, {"d": DIR, "d/c": file("c")}])) == {
        "d", "d/b", "d/c"}
    deep = {"a": DIR, "a/b": DIR, "a/b/c": file("c")}
    assert merge_layers([deep, {"a": OPAQUE_DIR}]) == {"a": DIR}
    assert merge_layers([deep, {"a": DIR, "a/b": WHITEOUT}]) == {"a": DIR}
    ### END HIDDEN TESTS

# %% [markdown]
# Plug it in, and compare **your** merge with the kernel: the stack is written as overlay layer
# directories and mounted (really, rootless, or simulated — see the mode above).

# %%
from fromscratch.image import union
from fromscratch.image.mounting import on_overlay, uses_userxattr

exercises.use(merge_layers)
stack = [base, top, {"etc": OPAQUE_DIR, "etc/hosts": file("only me")}]
dirs = []
for index, layer in enumerate(stack):
    union.write_layer_dir(layer, work / f"layer{index}", userxattr=uses_userxattr(MODE))
    dirs.append(work / f"layer{index}")
try:
    kernel = on_overlay(mode=MODE, lowers=dirs, target=work / "merged", action=union.snapshot)
    print("your merge_layers agrees with the", MODE, "overlay:",
          union.merge_layers(stack) == kernel)
    print(union.render(kernel))
except OSError as err:
    print("this host refused the mount:", err)

# %% [markdown]
# ## Exercise 2 — DiffID and ChainID (3 points)
#
# An image config lists its layers by **DiffID** (`"sha256:<hex>"` of the uncompressed tar).
# The image-spec names a whole *stack* by its **ChainID**:
#
# - `ChainID(L1) = DiffID(L1)`
# - `ChainID(Ln) = "sha256:" + sha256(ChainID(Ln-1) + " " + DiffID(Ln))` (hex digest of the
#   UTF-8 bytes; one space between them)
#
# Return the ChainID of every prefix of the stack: `[ChainID(L1), …, ChainID(Ln)]` (empty list
# for no layers). Raise `ValueError` if a DiffID does not start with `"sha256:"`.

# %% nbgrader={"grade_id": "ch03_chain_ids", "solution": true}
import hashlib


def chain_ids(diff_ids: list[str]) -> list[str]:
    """ChainIDs of every prefix of the layer stack."""
    ### BEGIN SOLUTION
    chains: list[str] = []
    for diff in diff_ids:
        if not diff.startswith("sha256:"):
            raise ValueError(f"not a sha256 digest: {diff!r}")
        if not chains:
            chains.append(diff)
        else:
            chains.append("sha256:" + hashlib.sha256(f"{chains[-1]} {diff}".encode()).hexdigest())
    return chains
    ### END SOLUTION


# %% [markdown]
# The test computes a real DiffID from a tar in memory, then checks the formula on two layers.

# %% nbgrader={"grade_id": "ch03_test_chain_ids", "grade": true, "points": 3}
import io
import tarfile

buffer = io.BytesIO()
with tarfile.open(fileobj=buffer, mode="w") as archive:
    archive.addfile(tarfile.TarInfo("empty-file"))
d1 = "sha256:" + hashlib.sha256(buffer.getvalue()).hexdigest()
d2 = "sha256:" + "ab" * 32
with exercises.checking(chain_ids):
    assert chain_ids([d1]) == [d1]
    assert chain_ids([d1, d2]) == [d1, "sha256:" + hashlib.sha256(f"{d1} {d2}".encode()).hexdigest()]
    ### BEGIN HIDDEN TESTS
    assert chain_ids([]) == []
    d3 = "sha256:" + "cd" * 32
    c2 = "sha256:" + hashlib.sha256(f"{d1} {d2}".encode()).hexdigest()
    c3 = "sha256:" + hashlib.sha256(f"{c2} {d3}".encode()).hexdigest()
    assert chain_ids([d1, d2, d3]) == [d1, c2, c3]
    assert chain_ids([d2, d1])[1] != c2
    try:
        chain_ids([d1, "md5:abc"])
        raise AssertionError("a malformed DiffID must raise ValueError")
    except ValueError:
        pass
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in, your `chain_ids` names the stack in every build: the builder's cache keys and its
# `FROM` line use it. (The Dockerfile has no `RUN`, so it builds anywhere.)

# %%
from fromscratch.image.builder import build

exercises.use(chain_ids)
context = work / "context"
context.mkdir()
(context / "hello.txt").write_text("hello\n")
(context / "Dockerfile").write_text('FROM busybox\nCOPY hello.txt /srv/\nCMD ["cat", "/srv/hello.txt"]\n')
built = build(context, tag="chain:1", store=store, mode=MODE, progress=None)
for diff, chain in zip(built.image.diff_ids, chain_ids(built.image.diff_ids), strict=True):
    print("DiffID", diff[7:19], "-> ChainID", chain[7:19])
print("calls to your chain_ids:", exercises.plug_point("chain_ids").calls_to_learner)

# %% [markdown]
# ## Exercise 3 — what does the container run? (4 points)
#
# Implement Docker's ENTRYPOINT/CMD table. `entrypoint` and `cmd` are each a **list** (exec
# form), a **string** (shell form: means `["/bin/sh", "-c", string]`) or `None`; `run_args` are
# the arguments given to `docker run IMAGE …`.
#
# |                      | no ENTRYPOINT | ENTRYPOINT `e0 p0` (shell) | ENTRYPOINT `["e0", "p0"]` |
# |---|---|---|---|
# | no CMD               | error (raise `ValueError`) | `/bin/sh -c "e0 p0"` | `e0 p0` |
# | CMD `["c1", "p1"]`   | `c1 p1` | `/bin/sh -c "e0 p0"` | `e0 p0 c1 p1` |
# | CMD `c1 p1` (shell)  | `/bin/sh -c "c1 p1"` | `/bin/sh -c "e0 p0"` | `e0 p0 /bin/sh -c "c1 p1"` |
#
# Non-empty `run_args` replace CMD; a shell-form ENTRYPOINT ignores them too.

# %% nbgrader={"grade_id": "ch03_resolve_argv", "solution": true}
def resolve_argv(entrypoint, cmd, run_args=()) -> list[str]:
    """The argv a container starts with."""
    ### BEGIN SOLUTION
    if isinstance(entrypoint, str):
        return ["/bin/sh", "-c", entrypoint]
    if run_args:
        tail = list(run_args)
    elif isinstance(cmd, str):
        tail = ["/bin/sh", "-c", cmd]
    else:
        tail = list(cmd or [])
    argv = list(entrypoint or []) + tail
    if not argv:
        raise ValueError("no command: neither ENTRYPOINT nor CMD")
    return argv
    ### END SOLUTION


# %% [markdown]
# The visible test checks one cell of each column; the hidden test checks every cell of the
# table, the error, and run-time arguments.

# %% nbgrader={"grade_id": "ch03_test_resolve_argv", "grade": true, "points": 4}
EXEC_EP, SHELL_EP = ["e0", "p0"], "e0 p0"
EXEC_CMD, SHELL_CMD = ["c1", "p1"], "c1 p1"
with exercises.checking(resolve_argv):
    assert resolve_argv(None, EXEC_CMD) == ["c1", "p1"]
    assert resolve_argv(SHELL_EP, EXEC_CMD) == ["/bin/sh", "-c", "e0 p0"]
    assert resolve_argv(EXEC_EP, EXEC_CMD) == ["e0", "p0", "c1", "p1"]
    ### BEGIN HIDDEN TESTS
    assert resolve_argv(None, SHELL_CMD) == ["/bin/sh", "-c", "c1 p1"]
    assert resolve_argv(SHELL_EP, None) == ["/bin/sh", "-c", "e0 p0"]
    assert resolve_argv(SHELL_EP, SHELL_CMD) == ["/bin/sh", "-c", "e0 p0"]
    assert resolve_argv(EXEC_EP, None) == ["e0", "p0"]
    assert resolve_argv(EXEC_EP, SHELL_CMD) == ["e0", "p0", "/bin/sh", "-c", "c1 p1"]
    try:
        resolve_argv(None, None)
        raise AssertionError("no ENTRYPOINT and no CMD must raise ValueError")
    except ValueError:
        pass
    assert resolve_argv(EXEC_EP, EXEC_CMD, ["x"]) == ["e0", "p0", "x"]
    assert resolve_argv(None, SHELL_CMD, ["ls", "-l"]) == ["ls", "-l"]
    assert resolve_argv(SHELL_EP, None, ["x"]) == ["/bin/sh", "-c", "e0 p0"]
    assert resolve_argv(None, None, ["only", "args"]) == ["only", "args"]
    assert resolve_argv([], ["c"]) == ["c"]
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in, your function decides what the images run: the offline busybox image (only a
# CMD), and the Tomcat image of the lesson (an exec-form ENTRYPOINT plus CMD).

# %%
from fromscratch.image.base import ensure_base_image

exercises.use(resolve_argv)
busybox = ensure_base_image(store).config["config"]
print("docker run busybox            ->", resolve_argv(busybox.get("Entrypoint"), busybox.get("Cmd")))
print("docker run busybox ls /       ->", resolve_argv(busybox.get("Entrypoint"), busybox.get("Cmd"),
                                                     ["ls", "/"]))
print("docker run tomcat             ->", resolve_argv(["/opt/tomcat/bin/catalina.sh"], ["run"]))
print("docker run tomcat configtest  ->", resolve_argv(["/opt/tomcat/bin/catalina.sh"], ["run"],
                                                     ["configtest"]))

# %% [markdown]
# ## Exercise 4 — logical lines of a Dockerfile (3 points)
#
# Before parsing instructions, the builder turns the file into **logical lines**. Return a list
# of `(line_number, text)` where `line_number` is the (1-based) line where the instruction
# starts and `text` is stripped of surrounding whitespace:
#
# - a line whose last non-blank character is the `escape` character continues on the next
#   line: drop the escape character and join the lines directly (no extra space);
# - a line whose first non-blank character is `#` is a comment; comment lines and blank lines
#   are skipped — also in the middle of a continuation;
# - a `#` anywhere else is ordinary text;
# - if the file ends inside a continuation, the pending text is still a logical line.

# %% nbgrader={"grade_id": "ch03_logical_lines", "solution": true}
def logical_lines(text: str, escape: str = "\\") -> list[tuple[int, str]]:
    """Join continuations and drop comments: [(first line number, joined text)]."""
    ### BEGIN SOLUTION
    result = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        body = raw.rstrip()
        if body.endswith(escape):
            pending += body[: -len(escape)]
            continue
        result.append((start, (pending + body).strip()))
        pending = ""
    if pending.strip():
        result.append((start, pending.strip()))
    return result
    ### END SOLUTION


# %% nbgrader={"grade_id": "ch03_test_logical_lines", "grade": true, "points": 3}
with exercises.checking(logical_lines):
    assert logical_lines("FROM busybox\n# comment\nRUN a \\\n  b\nCMD c\n") == [
        (1, "FROM busybox"), (3, "RUN a   b"), (5, "CMD c")]
    assert logical_lines("RUN echo '#hash'\n") == [(1, "RUN echo '#hash'")]
    ### BEGIN HIDDEN TESTS
    assert logical_lines("RUN x && \\\n# inside\n\n   y\n") == [(1, "RUN x &&    y")]
    assert logical_lines("RUN a \\   \n b\n") == [(1, "RUN a  b")]
    assert logical_lines("RUN dir `\n c:\\\\x\n", escape="`") == [(1, "RUN dir  c:\\\\x")]
    assert logical_lines("\n\n  CMD x  \n") == [(3, "CMD x")]
    assert logical_lines("RUN a \\\n") == [(1, "RUN a")]
    assert logical_lines("") == []
    assert logical_lines("   # indented comment\nFROM scratch") == [(2, "FROM scratch")]
    ### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 5 — exec form or shell form? (2 points)
#
# `RUN`, `CMD`, `ENTRYPOINT` (and a few others) accept two forms. If the arguments (stripped)
# are a JSON array whose items are all strings, it is the **exec form**: return the list.
# Anything else — including invalid JSON such as single-quoted arrays — is the **shell form**:
# return the stripped string unchanged.

# %% nbgrader={"grade_id": "ch03_command_form", "solution": true}
import json


def command_form(args: str) -> list[str] | str:
    """Exec form -> list of strings; otherwise the shell-form string."""
    ### BEGIN SOLUTION
    text = args.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return text
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
    return text
    ### END SOLUTION


# %% nbgrader={"grade_id": "ch03_test_command_form", "grade": true, "points": 2}
with exercises.checking(command_form):
    assert command_form('["httpd", "-f"]') == ["httpd", "-f"]
    assert command_form("httpd -f") == "httpd -f"
    ### BEGIN HIDDEN TESTS
    assert command_form("['single', 'quotes']") == "['single', 'quotes']"
    assert command_form('["a", 1]') == '["a", 1]'
    assert command_form("  [\"x\"]  ") == ["x"]
    assert command_form("[]") == []
    assert command_form("[not json") == "[not json"
    assert command_form('{"a": "b"}') == '{"a": "b"}'
    assert command_form('"just a string"') == '"just a string"'
    ### END HIDDEN TESTS

# %% [markdown]
# With exercises 4 and 5 plugged in, the builder reads Dockerfiles with **your** parser:

# %%
exercises.use(logical_lines)
exercises.use(command_form)
(context / "Dockerfile").write_text("""\
FROM busybox
# a comment, then a continuation
ENV GREETING=hello \\
    AUDIENCE=world
ENTRYPOINT ["echo"]
CMD ["${GREETING}, ${AUDIENCE}: exec form is not expanded by the builder"]
""")
parsed = build(context, tag="parsed:1", store=store, mode=MODE, progress=None)
config = parsed.image.config["config"]
print("Env:", config["Env"][-2:])
print("runs:", resolve_argv(config.get("Entrypoint"), config.get("Cmd")))
print("calls to your logical_lines:", exercises.plug_point("logical_lines").calls_to_learner)

# %% [markdown]
# ## Exercise 6 — spot a malicious tar member (4 points)
#
# Layers come from strangers. Raise `UnsafeLayer` (from `fromscratch.image.extract`) with a
# message naming the member when extracting `member` could reach outside the target directory,
# and return `None` when it is safe. Unsafe are:
#
# - an absolute name (`/etc/passwd`), or any `..` component in the name;
# - a **symlink** whose *relative* target, followed from the member's own directory, climbs
#   above the root (`a/link -> ../../x`). Absolute symlink targets are fine: the unpacker
#   reads them inside the container's root;
# - a **hard link** (`member.islnk()`) whose `linkname` is absolute or climbs above the root
#   (a hard link's `linkname` is relative to the archive root, not to the member's directory);
# - a character or block device, unless `allow_devices` is true.

# %% nbgrader={"grade_id": "ch03_check_member", "solution": true}
import tarfile
from pathlib import PurePosixPath

from fromscratch.image.extract import UnsafeLayer


def check_member(member: tarfile.TarInfo, *, allow_devices: bool = False) -> None:
    """Raise UnsafeLayer if extracting ``member`` could escape the target directory."""
    ### BEGIN SOLUTION
    def climbs(start: list[str], relative: str) -> bool:
        depth = len(start)
        for part in relative.split("/"):
            if part == "..":
                depth -= 1
                if depth < 0:
                    return True
            elif part not in ("", "."):
                depth += 1
        return False

    name = member.name
    if name.startswith("/") or ".." in PurePosixPath(name).parts:
        raise UnsafeLayer(f"{name}: absolute path or '..' in the name")
    here = [p for p in PurePosixPath(name).parent.parts if p != "."]
    if member.issym() and not member.linkname.startswith("/") and climbs(here, member.linkname):
        raise UnsafeLayer(f"{name}: symlink to {member.linkname} escapes the root")
    if member.islnk() and (member.linkname.startswith("/") or climbs([], member.linkname)):
        raise UnsafeLayer(f"{name}: hard link to {member.linkname} escapes the root")
    if (member.ischr() or member.isblk()) and not allow_devices:
        raise UnsafeLayer(f"{name}: device nodes are not allowed")
    ### END SOLUTION


# %% [markdown]
# A helper makes tar members. The first test is the classic "tar slip"; the second the link and
# device tricks.

# %%
from fromscratch.image.extract import UnsafeLayer


def member(name, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def rejects(candidate, info, **options):
    try:
        candidate(info, **options)
    except UnsafeLayer as err:
        return info.name in str(err)
    return False


# %% nbgrader={"grade_id": "ch03_test_check_member_names", "grade": true, "points": 2}
with exercises.checking(check_member):
    assert rejects(check_member, member("../../etc/cron.d/evil"))
    assert rejects(check_member, member("/etc/passwd"))
    assert check_member(member("usr/bin/env")) is None
    ### BEGIN HIDDEN TESTS
    assert rejects(check_member, member("a/../../b"))
    assert rejects(check_member, member("a/b/.."))
    assert check_member(member("./etc/hosts")) is None
    assert check_member(member("a..b/c..")) is None
    ### END HIDDEN TESTS

# %% nbgrader={"grade_id": "ch03_test_check_member_links_devices", "grade": true, "points": 2}
with exercises.checking(check_member):
    assert rejects(check_member, member("evil", tarfile.SYMTYPE, "../../../../tmp"))
    assert check_member(member("bin/sh", tarfile.SYMTYPE, "busybox")) is None
    assert rejects(check_member, member("h", tarfile.LNKTYPE, "/etc/shadow"))
    ### BEGIN HIDDEN TESTS
    assert check_member(member("a/b/link", tarfile.SYMTYPE, "../../c")) is None
    assert rejects(check_member, member("a/b/link", tarfile.SYMTYPE, "../../../c"))
    assert check_member(member("etc/localtime", tarfile.SYMTYPE, "/usr/share/zoneinfo/UTC")) is None
    assert rejects(check_member, member("a/b/h", tarfile.LNKTYPE, "../x"))
    assert check_member(member("a/b/h", tarfile.LNKTYPE, "a/b/real")) is None
    assert rejects(check_member, member("dev/sda", tarfile.BLKTYPE))
    assert rejects(check_member, member("dev/mem", tarfile.CHRTYPE))
    assert check_member(member("dev/null", tarfile.CHRTYPE), allow_devices=True) is None
    assert check_member(member("run/fifo", tarfile.FIFOTYPE)) is None
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in, your check guards the real unpacker: a layer with a tar-slip member is refused
# before a single file is written.

# %%
from fromscratch.image.extract import extract_layer
from fromscratch.image.layers import tar_bytes

exercises.use(check_member)
evil = tar_bytes([(member("innocent.txt"), b""), (member("../../outside.txt"), b"gotcha")])
try:
    extract_layer(io.BytesIO(evil), work / "unpacked")
except UnsafeLayer as err:
    print("refused:", err)
print("anything written?", (work / "unpacked").exists() and any((work / "unpacked").iterdir()))
print("calls to your check_member:", exercises.plug_point("check_member").calls_to_learner)

# %%
exercises.reset()
shutil.rmtree(work, ignore_errors=True)

# %% [markdown]
# ## Done
#
# You wrote the union rule overlayfs applies on every lookup, the names the image-spec gives a
# layer stack, Docker's ENTRYPOINT/CMD table, the first stage of a Dockerfile parser, and the
# check that keeps a hostile layer inside its directory. Next: chapter 4, the container runtime.
