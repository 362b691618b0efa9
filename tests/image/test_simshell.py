"""The simulated shell: a small sh subset whose paths never leave the root it was given."""

from __future__ import annotations

import pytest

from fromscratch.image.simshell import SimulatedShell, UnsupportedCommand


@pytest.fixture
def shell(tmp_path):
    (tmp_path / "root").mkdir()
    return SimulatedShell(tmp_path / "root", {"A": "1", "AB": "2"}, "/", output=lambda _: None)


def test_and_chain_redirection_and_variables(shell):
    assert shell.run('mkdir -p /srv && echo "$A $AB ${A}x" > /srv/out && echo more >> /srv/out') == 0
    assert (shell.root / "srv" / "out").read_text() == "1 2 1x\nmore\n"


def test_single_quotes_stop_expansion(shell):
    shell.run("echo '$A' > /q")
    assert (shell.root / "q").read_text() == "$A\n"


def test_and_chain_stops_at_the_first_failure(shell):
    assert shell.run("false && touch /never") == 1
    assert not (shell.root / "never").exists()
    assert shell.run("false ; touch /yes") == 0 and (shell.root / "yes").exists()


def test_absolute_paths_stay_inside_the_root(shell, tmp_path):
    shell.run("mkdir -p /etc && echo x > /../../etc/escaped")
    assert (shell.root / "etc" / "escaped").exists()
    assert not (tmp_path / "etc").exists()


def test_rm_ln_cp_mv(shell):
    shell.run("mkdir /d && echo a > /d/a && cp /d/a /d/b && mv /d/b /d/c && ln -s /d/c /l "
              "&& rm /d/a")
    assert sorted(p.name for p in (shell.root / "d").iterdir()) == ["c"]
    assert (shell.root / "l").is_symlink()


def test_exit_status_is_returned(shell):
    assert shell.run("true; exit 7; touch /after") == 7
    assert not (shell.root / "after").exists()


@pytest.mark.parametrize("script", ["apk add curl", "echo a | cat", "false || true", "(cd /)"])
def test_anything_else_is_refused_by_name(shell, script):
    with pytest.raises(UnsupportedCommand):
        shell.run(script)
