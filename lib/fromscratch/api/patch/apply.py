"""Client-side ``kubectl apply``: the last-applied annotation and the patch it sends.

kubectl keeps what you applied on the object itself, in the annotation
``kubectl.kubernetes.io/last-applied-configuration`` (compact JSON of your
file, without that annotation).  On the next apply it:

1. reads that annotation from the live object — the *original*;
2. stores the new file's JSON in the annotation of the new file — the *modified*;
3. sends ``PATCH`` with the three-way patch between original, modified and the
   live object: a strategic merge patch for the built-in kinds, a JSON merge
   patch for kinds it has no Go type for (custom resources), where it also
   refuses patches that would change ``apiVersion``, ``kind`` or the name.

``kubectl replace`` instead sends the whole file with ``PUT`` — and wipes
every field another writer had set.  Server-side apply (``--server-side``)
is a different mechanism (managedFields) and is not modelled here.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

from fromscratch.api.patch.diff import three_way_merge
from fromscratch.api.patch.errors import PatchError
from fromscratch.api.patch.mergekeys import root_type
from fromscratch.api.patch.mergepatch import three_way_merge_patch

Json = Any
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
PatchType = Literal["application/strategic-merge-patch+json", "application/merge-patch+json"]


def last_applied(obj: dict[str, Json]) -> dict[str, Json] | None:
    """The configuration last applied to ``obj`` with ``kubectl apply``, if any."""
    text = (obj.get("metadata") or {}).get("annotations", {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise PatchError(f"{LAST_APPLIED} is not valid JSON: {err}") from None
    return value if isinstance(value, dict) else None


def with_last_applied(config: dict[str, Json]) -> dict[str, Json]:
    """``config`` carrying itself in the last-applied annotation (kubectl's "modified")."""
    bare = copy.deepcopy(config)
    annotations = bare.setdefault("metadata", {}).setdefault("annotations", {})
    annotations.pop(LAST_APPLIED, None)
    # kubectl stores compact JSON with sorted keys and a trailing newline; the
    # annotations map stays, empty, which is why real values contain "annotations":{}
    text = json.dumps(bare, sort_keys=True, separators=(",", ":")) + "\n"
    result = copy.deepcopy(config)
    result.setdefault("metadata", {}).setdefault("annotations", {})[LAST_APPLIED] = text
    return result


def _check_identity(patch: dict[str, Json]) -> None:
    # kubectl's preconditions for a JSON merge patch: RequireKeyUnchanged / RequireMetadataKeyUnchanged
    for key in ("apiVersion", "kind"):
        if key in patch:
            raise PatchError(f"apply would change {key!r}; delete and re-create instead")
    if "name" in (patch.get("metadata") or {}):
        raise PatchError("apply would change metadata.name; delete and re-create instead")


def apply_patch_for(config: dict[str, Json], live: dict[str, Json], *,
                    strategy: Literal["auto", "strategic", "merge"] = "auto"
                    ) -> tuple[dict[str, Json], PatchType]:
    """The patch (and its content type) ``kubectl apply`` would send to turn ``live`` into ``config``.

    ``strategy="auto"`` picks what kubectl picks: strategic for kinds with a
    schema, a JSON merge patch otherwise.
    """
    if not isinstance(config, dict) or not isinstance(live, dict):
        raise PatchError("apply needs the configuration and the live object as JSON objects")
    kind = config.get("kind")
    original = last_applied(live)
    modified = with_last_applied(config)
    if strategy == "strategic" or (strategy == "auto" and root_type(kind) is not None):
        return three_way_merge(original, modified, live, kind), STRATEGIC
    patch = three_way_merge_patch(original or {}, modified, live)
    _check_identity(patch)
    return patch, MERGE
