"""Container lifecycle hooks: ``postStart`` and ``preStop``.

From the Kubernetes docs ("Container Lifecycle Hooks"):

- ``postStart`` runs right after the container is created; there is no
  guarantee it runs before the ENTRYPOINT, and the container is not marked
  running until the hook completes.  If the hook fails, the container is killed
  (event ``FailedPostStartHook``) and restarted under the restart policy.
- ``preStop`` runs before the container is terminated because of an API
  request or a failed liveness/startup probe; it is **synchronous**: it must
  finish before the TERM signal is sent, all within the grace period.

A hook handler is ``exec`` (a command in the container) or ``httpGet``; the
checks themselves are run by the pod's sandbox, as the probes are.
Simplified: the ``sleep`` handler is not supported; hook output is not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

HOOK_HANDLERS = ("exec", "httpGet", "tcpSocket")


class HookError(ValueError):
    """A lifecycle hook definition that makes no sense."""


def hook_of(container: Mapping[str, Any], name: str) -> tuple[str, dict[str, Any]] | None:
    """``("exec", {"command": [...]})`` for ``lifecycle.<name>``, or None."""
    spec = container.get("lifecycle", {}).get(name)
    if spec is None:
        return None
    handlers = [h for h in ("exec", "httpGet") if h in spec]
    if len(handlers) != 1:
        raise HookError(f"lifecycle.{name} must have exactly one of exec, httpGet")
    return handlers[0], dict(spec[handlers[0]])


def run_hook(container: Mapping[str, Any], name: str,
             check: Callable[[str, dict[str, Any], float], bool], timeout: float) -> bool | None:
    """Run the hook with ``check(handler, action, timeout)``; None if there is no such hook."""
    hook = hook_of(container, name)
    if hook is None:
        return None
    handler, action = hook
    if handler == "httpGet":
        action.setdefault("path", "/")
        port = action.get("port")
        if isinstance(port, str):
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            if port not in ports:
                raise HookError(f"lifecycle.{name}.httpGet.port {port!r} is not a named containerPort")
            action["port"] = ports[port]
    return check(handler, action, timeout)
