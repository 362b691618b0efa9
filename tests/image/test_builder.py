"""The Dockerfile builder: every instruction, the cache, RUN isolation, clear errors.

Builds run in the kernel mode this host allows (real as root) and again in
simulated mode, where RUN is interpreted by the simulated shell.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from fromscratch.image import union as u
from fromscratch.image.builder import BuildError, build
from fromscratch.image.context import ContextError
from fromscratch.image.dockerfile import DockerfileError
from fromscratch.image.simshell import UnsupportedCommand
from tests.image.conftest import OVERLAY, needs_overlay, needs_rootless_overlay

MODES = [pytest.param("real", marks=needs_overlay),
         pytest.param("rootless", marks=needs_rootless_overlay), "simulated"]

EVERY_INSTRUCTION = """\
# every instruction the course covers
ARG BASE=busybox
FROM ${BASE}
MAINTAINER Course Team <team@example.org>
ARG GREETING=hello
LABEL org.example.title="every instruction" version=1
ENV APP=/srv/app \\
    MODE=test
WORKDIR $APP
COPY notes.txt ./
ADD site.tar.gz /var/www/
RUN echo "$GREETING from $MODE" > greeting.txt && rm /etc/group
EXPOSE 8080 53/udp
VOLUME ["/data"]
USER www-data
HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O- http://127.0.0.1:8080/
ENTRYPOINT ["httpd", "-f"]
CMD ["-p", "8080", "-h", "/var/www"]
"""


def make_context(tmp_path: Path, dockerfile: str) -> Path:
    context = tmp_path / "context"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_text(dockerfile)
    (context / "notes.txt").write_text("notes\n")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"<h1>hello</h1>\n"
        info = tarfile.TarInfo("index.html")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    (context / "site.tar.gz").write_bytes(buffer.getvalue())
    return context


def merged_tree(store, image) -> u.Tree:
    layers = []
    for descriptor in image.layers:
        with tarfile.open(store.layout.blob_path(descriptor["digest"])) as archive:
            layers.append(u.layer_from_tar(archive))
    return u.merge_layers(layers)


@pytest.mark.parametrize("mode", MODES)
def test_every_instruction_lands_in_config_and_layers(store, tmp_path, mode):
    context = make_context(tmp_path, EVERY_INSTRUCTION)
    result = build(context, tag="every:1", store=store, mode=mode, progress=None,
                   build_args={"GREETING": "hi"})
    config = result.image.config
    runtime = config["config"]
    assert config["author"] == "Course Team <team@example.org>"
    assert runtime["Labels"]["org.example.title"] == "every instruction"
    assert {"APP=/srv/app", "MODE=test"} <= set(runtime["Env"])
    assert runtime["WorkingDir"] == "/srv/app"
    assert runtime["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert runtime["Volumes"] == {"/data": {}}
    assert runtime["User"] == "www-data"
    assert runtime["Healthcheck"]["Interval"] == 5 * 10**9
    assert runtime["Entrypoint"] == ["httpd", "-f"]
    assert runtime["Cmd"] == ["-p", "8080", "-h", "/var/www"]
    # base layer + COPY + ADD + RUN; the others leave empty_layer history entries
    assert len(result.image.layers) == 4 == len(config["rootfs"]["diff_ids"])
    assert sum(1 for h in config["history"] if not h.get("empty_layer")) == 4
    tree = merged_tree(store, result.image)
    assert tree["srv/app/notes.txt"] == u.file("notes\n")
    assert tree["var/www/index.html"] == u.file("<h1>hello</h1>\n")  # ADD unpacked the archive
    assert tree["srv/app/greeting.txt"] == u.file("hi from test\n")  # ARG + ENV reached RUN
    assert "etc/group" not in tree  # the RUN's rm became a whiteout
    assert "etc/passwd" in tree


@pytest.mark.parametrize("mode", MODES)
def test_rebuild_hits_the_cache_and_gives_the_same_image(store, tmp_path, mode):
    context = make_context(tmp_path, EVERY_INSTRUCTION)
    first = build(context, tag="every:1", store=store, mode=mode, progress=None)
    second = build(context, tag="every:1", store=store, mode=mode, progress=None)
    assert not any(step.cached for step in first.steps)
    assert all(step.cached for step in second.steps if step.instruction.keyword != "FROM")
    assert second.image.id == first.image.id


def test_changed_copy_source_invalidates_that_step_and_the_ones_after(store, tmp_path):
    context = make_context(tmp_path, EVERY_INSTRUCTION)
    build(context, tag="every:1", store=store, mode="simulated", progress=None)
    (context / "notes.txt").write_text("new notes\n")
    again = build(context, tag="every:1", store=store, mode="simulated", progress=None)
    cached = {step.instruction.keyword: step.cached for step in again.steps}
    assert cached["WORKDIR"] and not cached["COPY"] and not cached["RUN"]


def test_no_cache_rebuilds_every_step(store, tmp_path):
    context = make_context(tmp_path, EVERY_INSTRUCTION)
    build(context, tag="every:1", store=store, mode="simulated", progress=None)
    again = build(context, tag="every:1", store=store, mode="simulated", progress=None,
                  no_cache=True)
    assert not any(step.cached for step in again.steps)


def test_build_arg_changes_the_run_cache_key(store, tmp_path):
    context = make_context(tmp_path, EVERY_INSTRUCTION)
    build(context, tag="a:1", store=store, mode="simulated", progress=None)
    other = build(context, tag="a:2", store=store, mode="simulated", progress=None,
                  build_args={"GREETING": "bonjour"})
    run_step = next(s for s in other.steps if s.instruction.keyword == "RUN")
    assert not run_step.cached


def test_unused_build_arg_gives_a_warning(store, tmp_path):
    context = make_context(tmp_path, "FROM scratch\nCOPY notes.txt /\n")
    result = build(context, tag="a:1", store=store, mode="simulated", progress=None,
                   build_args={"NOPE": "1"})
    assert "NOPE" in result.warnings[0]


def test_from_an_image_built_earlier_stacks_its_layers(store, tmp_path):
    context = make_context(tmp_path, "FROM scratch\nCOPY notes.txt /\nCMD [\"x\"]\n")
    parent = build(context, tag="parent:1", store=store, mode="simulated", progress=None)
    (context / "Dockerfile").write_text('FROM parent:1\nENTRYPOINT ["run"]\n')
    child = build(context, tag="child:1", store=store, mode="simulated", progress=None)
    assert child.image.layers == parent.image.layers
    assert "Cmd" not in child.image.config["config"]  # ENTRYPOINT reset the inherited CMD


@needs_overlay
def test_run_is_isolated_pid_1_own_hostname_no_network(store, tmp_path):
    context = make_context(tmp_path, "FROM busybox\n"
                           "RUN echo $$ > /pid && hostname > /host && cat /proc/net/dev > /net"
                           " && ls /root > /rootdir\n")
    result = build(context, tag="iso:1", store=store, mode="real", progress=None)
    tree = merged_tree(store, result.image)
    assert tree["pid"].data == b"1\n"
    assert tree["host"].data == b"fromscratch-build\n"
    assert tree["rootdir"].data == b""  # the image's /root, not the host's
    interfaces = [line.split(":")[0].strip() for line in tree["net"].data.decode().splitlines()[2:]]
    assert interfaces == ["lo"]  # a network namespace of its own: loopback only
    assert "isolated" in result.steps[1].isolation


@needs_overlay
def test_run_as_user_from_the_image_passwd(store, tmp_path):
    context = make_context(tmp_path, "FROM busybox\nUSER www-data\nRUN id -u > /tmp/uid\n")
    result = build(context, tag="user:1", store=store, mode="real", progress=None)
    assert merged_tree(store, result.image)["tmp/uid"].data == b"33\n"


@pytest.mark.parametrize("mode", MODES)
def test_failing_run_names_its_line_and_exit_code(store, tmp_path, mode):
    context = make_context(tmp_path, "FROM busybox\n\nRUN true && exit 3\n")
    with pytest.raises(BuildError, match=r"Dockerfile:3: .*non-zero code: 3"):
        build(context, tag="bad:1", store=store, mode=mode, progress=None)


def test_simulated_run_refuses_commands_it_does_not_have(store, tmp_path):
    context = make_context(tmp_path, "FROM busybox\nRUN apk add curl\n")
    with pytest.raises(UnsupportedCommand, match="apk"):
        build(context, tag="bad:1", store=store, mode="simulated", progress=None)


def test_add_from_url_fails_clearly_offline(store, tmp_path):
    context = make_context(tmp_path, "FROM scratch\nADD http://127.0.0.1:9/file.tgz /\n")
    with pytest.raises(BuildError, match="Dockerfile:2: ADD http://127.0.0.1:9/file.tgz: "
                                         "cannot download"):
        build(context, tag="bad:1", store=store, mode="simulated", progress=None)


def test_copy_outside_the_context_is_forbidden(store, tmp_path):
    (tmp_path / "secret").write_text("s")
    context = make_context(tmp_path, "FROM scratch\nCOPY ../secret /\n")
    with pytest.raises((BuildError, ContextError), match="outside the build context"):
        build(context, tag="bad:1", store=store, mode="simulated", progress=None)


def test_copy_of_missing_file_names_it(store, tmp_path):
    context = make_context(tmp_path, "FROM scratch\nCOPY missing.txt /\n")
    with pytest.raises((BuildError, ContextError), match="missing.txt"):
        build(context, tag="bad:1", store=store, mode="simulated", progress=None)


def test_copy_chown_and_chmod_and_directory_contents(store, tmp_path):
    context = make_context(tmp_path, "FROM scratch\nCOPY --chown=10:20 --chmod=600 dir/ /d/\n")
    (context / "dir").mkdir()
    (context / "dir" / "inner").write_text("i")
    result = build(context, tag="c:1", store=store, mode="simulated", progress=None)
    with tarfile.open(store.layout.blob_path(result.image.layers[0]["digest"])) as archive:
        inner = archive.getmember("d/inner")
    assert (inner.uid, inner.gid, inner.mode & 0o777) == (10, 20, 0o600)


def test_missing_base_image_is_a_clear_error(store, tmp_path):
    context = make_context(tmp_path, "FROM nothere:1\n")
    with pytest.raises(BuildError, match="Dockerfile:1: no image 'nothere:1'"):
        build(context, tag="bad:1", store=store, mode="simulated", progress=None)


def test_second_from_is_refused(store, tmp_path):
    context = make_context(tmp_path, "FROM scratch\nFROM scratch\n")
    with pytest.raises(BuildError, match="Dockerfile:2: multi-stage"):
        build(context, tag="bad:1", store=store, mode="simulated", progress=None)


def test_malformed_dockerfile_error_has_the_line(store, tmp_path):
    context = make_context(tmp_path, "FROM scratch\nEXPOSE 80\nHEALTHCHECK --interval=x CMD y\n")
    with pytest.raises(DockerfileError, match="Dockerfile:3: invalid duration"):
        build(context, tag="bad:1", store=store, mode="simulated", progress=None)


def test_progress_reports_each_step(store, tmp_path):
    context = make_context(tmp_path, "FROM scratch\nCOPY notes.txt /\nCMD [\"x\"]\n")
    events: list[tuple[str, int]] = []
    build(context, tag="p:1", store=store, mode="simulated",
          progress=lambda event, step, line: events.append((event, step.number)))
    assert [e for e in events if e[0] == "start"] == [("start", 1), ("start", 2), ("start", 3)]


def test_real_and_simulated_builds_make_the_same_tree(store, tmp_path):
    if not OVERLAY:
        pytest.skip("needs root and overlayfs to compare with the real build")
    context = make_context(tmp_path, EVERY_INSTRUCTION)
    real = build(context, tag="r:1", store=store, mode="real", progress=None)
    simulated = build(context, tag="s:1", store=store, mode="simulated", progress=None)
    assert merged_tree(store, real.image) == merged_tree(store, simulated.image)
