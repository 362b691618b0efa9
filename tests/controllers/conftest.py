"""Fixtures for the controller tests: a running API server per module, a namespace per test."""

from tests.apiserver_fixtures import api, namespace_fixture, server  # noqa: F401

ns = namespace_fixture("c")
