"""Optimistic concurrency on the running server, decided by the pluggable ``update_conflicts``."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from fromscratch import exercises


def _config_map(core, ns: str, name: str):
    return core.create_namespaced_config_map(ns, {"metadata": {"name": name}, "data": {"k": "v"}})


def test_stale_resource_version_gets_409_conflict(core, ns):
    # two writers read version N; the second update still carries N after the first wrote N+1
    _config_map(core, ns, "race")
    first, second = (core.read_namespaced_config_map("race", ns) for _ in range(2))
    first.data = {"k": "first"}
    core.replace_namespaced_config_map("race", ns, first)
    second.data = {"k": "second"}
    with pytest.raises(ApiException) as refused:
        core.replace_namespaced_config_map("race", ns, second)
    assert refused.value.status == 409
    assert core.read_namespaced_config_map("race", ns).data == {"k": "first"}


def test_malformed_resource_version_is_a_bad_request(core, ns):
    _config_map(core, ns, "bad-rv")
    body = core.read_namespaced_config_map("bad-rv", ns)
    body.metadata.resource_version = "not-a-number"
    with pytest.raises(ApiException) as refused:
        core.replace_namespaced_config_map("bad-rv", ns, body)
    assert refused.value.status == 400


def test_a_plugged_update_conflicts_decides_on_the_server(core, ns):
    # a learner's (paranoid) version refuses every conditional update: the server follows it
    _config_map(core, ns, "plugged")
    body = core.read_namespaced_config_map("plugged", ns)

    def update_conflicts(stored_rv, submitted_rv):
        return submitted_rv not in (None, "", "0")

    with exercises.using(update_conflicts) as plugged:
        with pytest.raises(ApiException) as refused:
            core.replace_namespaced_config_map("plugged", ns, body)
    assert refused.value.status == 409 and plugged.calls_to_learner == 1
    assert core.replace_namespaced_config_map("plugged", ns, body).data == {"k": "v"}
