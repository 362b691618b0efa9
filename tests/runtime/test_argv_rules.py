"""How a container's argv is built from ``command``/``args`` and the image's ENTRYPOINT/CMD.

The four cases of the Kubernetes docs ("Define a Command and Arguments for a Container",
notes on how command and args interact with the image's Entrypoint and Cmd).
"""

import pytest

from fromscratch.runtime.sandbox import SandboxError, container_argv

IMAGE = {"Entrypoint": ["/ep"], "Cmd": ["cmd-arg"]}


@pytest.mark.parametrize(("container", "argv"), [
    ({}, ["/ep", "cmd-arg"]),                                     # neither: Entrypoint + Cmd
    ({"command": ["/c"]}, ["/c"]),                                # command: Cmd is ignored
    ({"args": ["a"]}, ["/ep", "a"]),                              # args: the image's Entrypoint
    ({"command": ["/c"], "args": ["a"]}, ["/c", "a"]),            # both: the image is ignored
])
def test_command_and_args_combine_with_the_image_as_documented(container, argv):
    assert container_argv({"name": "c", **container}, {}, IMAGE) == argv


def test_args_alone_with_an_image_without_entrypoint_run_as_given():
    # busybox has Cmd ["sh"] and no Entrypoint: `kubectl run x --image=busybox -- sh -c 'echo'`
    image = {"Cmd": ["sh"]}
    assert container_argv({"name": "c", "args": ["sh", "-c", "echo"]}, {}, image) == ["sh", "-c", "echo"]


def test_variables_are_expanded_and_nothing_to_run_is_an_error():
    assert container_argv({"name": "c", "command": ["echo", "$(A)"]}, {"A": "1"}) == ["echo", "1"]
    with pytest.raises(SandboxError, match="no command"):
        container_argv({"name": "c"}, {}, {})
