"""Metadata instructions change the image config as the Dockerfile reference says."""

from __future__ import annotations

import pytest

from fromscratch.image.dockerfile import DockerfileError, parse
from fromscratch.image.instructions import apply_metadata, parse_duration


def config_after(text: str, base: dict | None = None) -> dict:
    image = {"config": dict(base or {})}
    inherited = bool(image["config"].get("Cmd"))
    for instruction in parse("FROM scratch\n" + text)[1:]:
        apply_metadata(instruction, image, cmd_inherited=inherited)
        if instruction.keyword == "CMD":
            inherited = False
    return image


def test_env_key_value_pairs_and_legacy_form():
    config = config_after('ENV A=1 B="two words"\nENV C three words\nENV A=again')["config"]
    assert config["Env"] == ["B=two words", "C=three words", "A=again"]


def test_label_and_maintainer():
    image = config_after('LABEL a=1 "b c"=2\nMAINTAINER Ann <ann@example.org>')
    assert image["config"]["Labels"] == {"a": "1", "b c": "2"}
    assert image["author"] == "Ann <ann@example.org>"


def test_expose_defaults_to_tcp():
    ports = config_after("EXPOSE 80 53/udp 443/tcp")["config"]["ExposedPorts"]
    assert ports == {"80/tcp": {}, "53/udp": {}, "443/tcp": {}}


def test_expose_rejects_a_bad_port():
    with pytest.raises(DockerfileError, match="Dockerfile:2: EXPOSE: invalid port"):
        config_after("EXPOSE http")


def test_volume_json_and_plain_forms():
    assert config_after('VOLUME ["/a", "/b"]\nVOLUME /c')["config"]["Volumes"] == {
        "/a": {}, "/b": {}, "/c": {}}


def test_workdir_relative_to_previous_workdir():
    assert config_after("WORKDIR /a\nWORKDIR b\nWORKDIR ../c")["config"]["WorkingDir"] == "/a/c"


def test_cmd_and_entrypoint_store_shell_form_as_sh_c():
    config = config_after('CMD echo hi\nENTRYPOINT ["tini", "--"]')["config"]
    assert config["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert config["Entrypoint"] == ["tini", "--"]


def test_shell_instruction_changes_the_shell_form():
    config = config_after('SHELL ["/bin/bash", "-ec"]\nCMD echo hi')["config"]
    assert config["Cmd"] == ["/bin/bash", "-ec", "echo hi"]


def test_entrypoint_resets_a_cmd_inherited_from_the_base_image():
    assert "Cmd" not in config_after('ENTRYPOINT ["x"]', {"Cmd": ["sh"]})["config"]


def test_entrypoint_keeps_a_cmd_set_in_the_same_dockerfile():
    config = config_after('CMD ["y"]\nENTRYPOINT ["x"]', {"Cmd": ["sh"]})["config"]
    assert config["Cmd"] == ["y"]


def test_healthcheck_options_in_nanoseconds():
    check = config_after("HEALTHCHECK --interval=1m30s --timeout=3s --start-period=500ms "
                         "--retries=4 CMD curl -f http://localhost/")["config"]["Healthcheck"]
    assert check == {"Test": ["CMD-SHELL", "curl -f http://localhost/"],
                     "Interval": 90 * 10**9, "Timeout": 3 * 10**9,
                     "StartPeriod": 500 * 10**6, "Retries": 4}


def test_healthcheck_exec_form_and_none():
    assert config_after('HEALTHCHECK CMD ["true"]')["config"]["Healthcheck"] == {
        "Test": ["CMD", "true"]}
    assert config_after("HEALTHCHECK NONE")["config"]["Healthcheck"] == {"Test": ["NONE"]}


@pytest.mark.parametrize("line", ["HEALTHCHECK --interval=soon CMD x",
                                  "HEALTHCHECK --retries=-1 CMD x",
                                  "HEALTHCHECK --bogus=1 CMD x",
                                  "HEALTHCHECK --interval=10us CMD x",
                                  "HEALTHCHECK echo",
                                  "HEALTHCHECK --retries=1 NONE"])
def test_malformed_healthcheck_is_a_line_numbered_error(line):
    with pytest.raises(DockerfileError, match="Dockerfile:2:"):
        config_after(line)


def test_go_durations():
    assert parse_duration("1h2m3s") == (3600 + 120 + 3) * 10**9
    assert parse_duration("1.5s") == 1_500_000_000
    with pytest.raises(DockerfileError):
        parse_duration("5")
