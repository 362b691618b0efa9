"""Pod priority: PriorityClass objects and the Priority admission plugin that applies them.

Models ``plugin/pkg/admission/priority`` and the documented behaviour of
https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/:

- a **PriorityClass** (``scheduling.k8s.io/v1``, cluster-scoped) maps a name to
  an integer ``value`` — at most one billion for user classes; the two built-in
  classes ``system-cluster-critical`` (2000000000) and ``system-node-critical``
  (2000001000) are higher — and optionally ``globalDefault: true`` (at most
  one class may be the default);
- on **Pod creation**, the plugin resolves ``spec.priorityClassName`` to
  ``spec.priority`` (and ``spec.preemptionPolicy``, default
  ``PreemptLowerPriority``).  A Pod naming no class gets the global default
  class, or priority 0 if there is none.  An unknown class, or a
  ``spec.priority`` that disagrees with the class, is refused with 403.

The scheduler's queue then tries higher-priority Pods first
(:mod:`fromscratch.scheduler.queue`).  Simplified: no preemption (the scheduler
never evicts lower-priority Pods to make room), and the built-in classes are
known to the plugin rather than stored as objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fromscratch.api import errors
from fromscratch.api.admission import AdmissionRequest

if TYPE_CHECKING:
    from fromscratch.api.registry import Registry

Obj = dict[str, Any]
HIGHEST_USER_PRIORITY = 1_000_000_000
SYSTEM_CLASSES = {"system-cluster-critical": 2_000_000_000, "system-node-critical": 2_000_001_000}
DEFAULT_PREEMPTION = "PreemptLowerPriority"


def priority_admission(registry: Registry):
    """The Priority plugin's mutating function (Pods) and PriorityClass checks."""

    def classes() -> list[Obj]:
        kind = registry.kinds.lookup("scheduling.k8s.io", "v1", "priorityclasses")
        return registry.list_all(kind, "")[0] if kind is not None else []

    def admit(request: AdmissionRequest) -> Obj | None:
        group_kind = (request.kind.group, request.kind.kind)
        if group_kind == ("scheduling.k8s.io", "PriorityClass") and request.object is not None:
            check_priority_class(request.object, classes(), request.operation)
            return None
        if group_kind != ("", "Pod") or request.operation != "CREATE" or request.subresource \
                or not request.object:
            return None
        return apply_priority(request.object, request.name, classes())

    return admit


def check_priority_class(obj: Obj, existing: list[Obj], operation: str) -> None:
    """A user class's value is at most one billion; only one class may be the global default."""
    name = obj.get("metadata", {}).get("name", "")
    value = obj.get("value")
    problems = []
    if not isinstance(value, int) or isinstance(value, bool):
        problems.append(errors.required("value"))
    elif name not in SYSTEM_CLASSES and value > HIGHEST_USER_PRIORITY:
        problems.append(errors.invalid_value("value", value, "maximum allowed value of a user "
                                             f"defined priority is {HIGHEST_USER_PRIORITY}"))
    if obj.get("globalDefault"):
        other = next((c["metadata"]["name"] for c in existing
                      if c.get("globalDefault") and c["metadata"]["name"] != name), None)
        if other is not None:
            problems.append(errors.invalid_value(
                "globalDefault", True, f"PriorityClass {other} is already marked as default. "
                "Only one default can exist"))
    if problems:
        raise errors.invalid("PriorityClass", name, problems, "scheduling.k8s.io")


def apply_priority(pod: Obj, name: str, classes: list[Obj]) -> Obj:
    """Set ``spec.priority`` (and ``preemptionPolicy``) from the Pod's PriorityClass."""
    spec = pod.setdefault("spec", {})
    wanted = spec.get("priorityClassName") or ""
    value, policy = 0, DEFAULT_PREEMPTION
    if wanted in SYSTEM_CLASSES:
        value = SYSTEM_CLASSES[wanted]
    elif wanted:
        found = next((c for c in classes if c["metadata"]["name"] == wanted), None)
        if found is None:
            raise _forbidden(name, f"no PriorityClass with name {wanted} was found")
        value, policy = found["value"], found.get("preemptionPolicy") or DEFAULT_PREEMPTION
    else:
        default = next((c for c in classes if c.get("globalDefault")), None)
        if default is not None:
            spec["priorityClassName"] = default["metadata"]["name"]
            value, policy = default["value"], default.get("preemptionPolicy") or DEFAULT_PREEMPTION
    given = spec.get("priority")
    if given is not None and given != value:
        raise _forbidden(name, f"the integer value of priority ({given}) must not be provided in "
                               f"pod spec; priority admission controller computed {value} from the "
                               "given PriorityClass name")
    spec["priority"] = value
    spec.setdefault("preemptionPolicy", policy)
    return pod


def _forbidden(name: str, message: str) -> errors.APIError:
    return errors.forbidden_error(f'pods "{name}" is forbidden: {message}', resource="pods", name=name)
