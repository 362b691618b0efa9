"""Dockerfile parsing: continuations, comments, exec vs shell form, line-numbered errors."""

from __future__ import annotations

import pytest

from fromscratch.image.dockerfile import (
    DockerfileError,
    command_form,
    escape_character,
    expand,
    logical_lines,
    parse,
    split_flags,
)


def test_continuation_lines_are_joined_and_numbered_by_their_first_line():
    text = "FROM scratch\nRUN echo a \\\n    && echo b\nCMD x\n"
    assert logical_lines(text) == [(1, "FROM scratch"), (2, "RUN echo a     && echo b"),
                                   (4, "CMD x")]


def test_comments_and_blank_lines_inside_a_continuation_are_dropped():
    text = "RUN apt-get update && \\\n# a comment\n\n    apt-get install x\n"
    assert logical_lines(text) == [(1, "RUN apt-get update &&     apt-get install x")]


def test_hash_after_the_start_of_a_line_is_not_a_comment():
    assert logical_lines("RUN echo '#not a comment'\n") == [(1, "RUN echo '#not a comment'")]


def test_backtick_escape_directive():
    text = "# escape=`\nFROM scratch\nRUN dir `\n  c:\\\n"
    assert escape_character(text) == "`"
    assert parse(text)[1].args == "dir   c:\\"


def test_trailing_whitespace_after_the_escape_still_continues():
    assert logical_lines("RUN a \\   \n b\n") == [(1, "RUN a  b")]


def test_exec_form_is_a_json_array_of_strings():
    assert command_form('["/bin/sh", "-c", "echo hi"]') == ["/bin/sh", "-c", "echo hi"]


@pytest.mark.parametrize("text", ["echo hi", "[not json", '["a", 1]', "['single', 'quotes']"])
def test_anything_else_is_shell_form(text):
    assert command_form(text) == text


def test_keywords_are_case_insensitive_and_flags_are_split():
    instructions = parse("from scratch\ncopy --chown=1:2 a /b\n")
    assert [i.keyword for i in instructions] == ["FROM", "COPY"]
    assert instructions[1].flags == {"chown": "1:2"} and instructions[1].args == "a /b"
    assert split_flags("--retries=3 CMD x") == ({"retries": "3"}, "CMD x")


def test_unknown_instruction_names_its_line():
    with pytest.raises(DockerfileError, match=r"Dockerfile:3: unknown instruction: RUNN"):
        parse("FROM scratch\n\nRUNN x\n")


def test_first_instruction_must_be_from_after_args():
    assert parse("ARG V=1\nFROM scratch\n")[1].keyword == "FROM"
    with pytest.raises(DockerfileError, match="Dockerfile:1: the first instruction must be FROM"):
        parse("RUN x\nFROM scratch\n")


def test_instruction_without_arguments_is_an_error():
    with pytest.raises(DockerfileError, match="Dockerfile:2: CMD requires"):
        parse("FROM scratch\nCMD\n")


def test_empty_dockerfile_is_an_error():
    with pytest.raises(DockerfileError, match="no instructions"):
        parse("# only a comment\n")


def test_variable_expansion_forms():
    env = {"A": "1", "EMPTY": ""}
    assert expand("$A ${A} ${B:-dflt} ${A:+alt} ${B:+alt}x \\$A", env) == "1 1 dflt alt x $A"
    assert expand("'$A' \"$A\"", env) == "'$A' \"1\""
    with pytest.raises(DockerfileError, match="bad substitution"):
        expand("${A", env, lineno=7)
