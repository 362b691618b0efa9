"""The Deployment controller: ReplicaSets per template, rolled from old to new.

Models ``pkg/controller/deployment`` (``deployment_controller.go``, ``sync.go``,
``rolling.go``, ``recreate.go``, ``progress.go``).  Each reconcile:

1. claims the ReplicaSets the Deployment controls (adopting matching orphans);
2. finds the *new* ReplicaSet — the one whose template equals the Deployment's
   (ignoring the ``pod-template-hash`` label) — creating ``<name>-<hash>`` if
   none does (a hash collision bumps ``status.collisionCount``);
3. if paused, or if ``spec.replicas`` changed (a scaling event), only scales
   (:func:`~fromscratch.controllers.rollout.proportional_scale` mid-rollout);
4. otherwise rolls: ``RollingUpdate`` takes one
   :func:`~fromscratch.controllers.rollout.rolling_update_step`; ``Recreate``
   scales every old ReplicaSet to 0, waits for their Pods to be gone, then
   scales the new one up;
5. once complete, deletes old ReplicaSets beyond ``revisionHistoryLimit``;
6. writes status and the ``Available`` / ``Progressing`` conditions, and asks to
   be reconciled again when the progress deadline would pass.

Simplified: no Events are recorded, and ``ReplicaFailure`` conditions of the
ReplicaSets are not copied up.
"""

from __future__ import annotations

import copy
from typing import Any

from fromscratch.api.selectors import label_selector_from_dict
from fromscratch.controllers import deployment_util as du
from fromscratch.controllers.base import Controller, controller_ref
from fromscratch.controllers.cache import CONTROLLER_INDEX, OWNER_INDEX, split_key
from fromscratch.controllers.client import DEPLOYMENTS, PODS, REPLICASETS, ResourceClient, is_status
from fromscratch.controllers.hashing import pod_template_hash
from fromscratch.controllers.informer import InformerFactory
from fromscratch.controllers.podutil import owner_reference, parse_time
from fromscratch.controllers.rollout import proportional_scale, rolling_update_step

Obj = dict[str, Any]


class DeploymentController(Controller):
    name = "deployment"
    resource = DEPLOYMENTS

    def __init__(self, factory: InformerFactory, **kwargs: Any) -> None:
        super().__init__(factory, **kwargs)
        self.replicasets = self.watch_dependents(REPLICASETS)
        self.pods = factory.informer(PODS)  # Recreate waits for old Pods to be gone
        self.rs_client = ResourceClient(self.api_client, REPLICASETS)

    # --- reconcile -----------------------------------------------------------------------------
    def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        d = self.informer.get(namespace, name)
        if d is None:
            return None
        d = copy.deepcopy(d)  # never mutate objects from the cache: it is shared
        rs_list = self.claim_replicasets(d)
        if d["metadata"].get("deletionTimestamp"):
            return self.sync_status(d, rs_list, self.find_new(d, rs_list))
        if d["spec"].get("paused") or self.is_scaling_event(d, rs_list):
            return self.sync_scale(d, rs_list)
        if du.is_rolling(d):
            return self.rollout_rolling(d, rs_list)
        return self.rollout_recreate(d, rs_list)

    def claim_replicasets(self, d: Obj) -> list[Obj]:
        selector = label_selector_from_dict(d["spec"].get("selector"))
        uid, result = d["metadata"]["uid"], []
        candidates = (self.replicasets.store.by_index(CONTROLLER_INDEX, uid)
                      + self.replicasets.store.by_index(CONTROLLER_INDEX,
                                                        f"orphan:{d['metadata']['namespace']}"))
        for rs in candidates:
            ref = controller_ref(rs)
            if ref is not None and ref.get("uid") == uid:
                result.append(rs)
            elif ref is None and selector.matches(rs["metadata"].get("labels") or {}) \
                    and not d["metadata"].get("deletionTimestamp"):
                adopted = copy.deepcopy(rs)
                adopted["metadata"].setdefault("ownerReferences", []).append(owner_reference(d))
                result.append(self.rs_client.update(adopted))
        return result

    def find_new(self, d: Obj, rs_list: list[Obj]) -> Obj | None:
        """The oldest ReplicaSet whose template is the Deployment's (FindNewReplicaSet)."""
        matching = [rs for rs in rs_list
                    if du.equal_ignore_hash(rs["spec"].get("template"), d["spec"]["template"])]
        matching.sort(key=lambda rs: (rs["metadata"].get("creationTimestamp", ""),
                                      rs["metadata"]["name"]))
        return matching[0] if matching else None

    def is_scaling_event(self, d: Obj, rs_list: list[Obj]) -> bool:
        replicas = str(d["spec"].get("replicas", 1))
        for rs in rs_list:
            if int(rs["spec"].get("replicas", 0)) > 0:
                desired = (rs["metadata"].get("annotations") or {}).get(du.DESIRED_REPLICAS)
                if desired is not None and desired != replicas:
                    return True
        return False

    # --- the new ReplicaSet ------------------------------------------------------------------------
    def get_new_rs(self, d: Obj, rs_list: list[Obj], *, create: bool) -> Obj | None:
        new = self.find_new(d, rs_list)
        old = [rs for rs in rs_list if rs is not new]
        revision = max((du.revision_of(rs) for rs in old), default=0) + 1
        if new is not None:
            updated = copy.deepcopy(new)
            if du.set_new_rs_annotations(d, updated, revision, exists=True):
                new = self.rs_client.update(updated)
            self._sync_deployment_revision(d, du.revision_of(new))
            return new
        if not create:
            return None
        collisions = (d.get("status") or {}).get("collisionCount")
        template_hash = pod_template_hash(d["spec"]["template"], collisions)
        template = copy.deepcopy(d["spec"]["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[du.HASH_LABEL] = template_hash
        selector = copy.deepcopy(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[du.HASH_LABEL] = template_hash
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{d['metadata']['name']}-{template_hash}",
                           "namespace": d["metadata"]["namespace"],
                           "labels": dict(template["metadata"]["labels"]),
                           "ownerReferences": [owner_reference(d)]},
              "spec": {"replicas": 0, "minReadySeconds": d["spec"].get("minReadySeconds", 0),
                       "selector": selector, "template": template}}
        du.set_new_rs_annotations(d, rs, revision, exists=False)
        try:
            created = self.rs_client.create(d["metadata"]["namespace"], rs)
        except Exception as err:
            if not is_status(err, 409):
                raise
            existing = self.rs_client.get(d["metadata"]["namespace"], rs["metadata"]["name"])
            if (controller_ref(existing) or {}).get("uid") == d["metadata"]["uid"] and \
                    du.equal_ignore_hash(existing["spec"]["template"], d["spec"]["template"]):
                return existing  # ours already: the cache was behind
            # a hash collision: another template got this name; count it and try another hash
            status = copy.deepcopy(d.get("status") or {})
            status["collisionCount"] = (collisions or 0) + 1
            self.client.update_status({**d, "status": status})
            raise RuntimeError(f"hash collision for ReplicaSet {rs['metadata']['name']}") from err
        status = copy.deepcopy(d.get("status") or {})
        du.set_condition(status, "Progressing", "True", "NewReplicaSetCreated",
                         f'Created new replica set "{created["metadata"]["name"]}"', self.clock.wall())
        d["status"] = status
        self._sync_deployment_revision(d, revision)
        return created

    def _sync_deployment_revision(self, d: Obj, revision: int) -> None:
        annotations = d["metadata"].setdefault("annotations", {})
        if annotations.get(du.REVISION) != str(revision):
            annotations[du.REVISION] = str(revision)
            body = {k: v for k, v in d.items() if k != "status"}
            d["metadata"] = self.client.update(body)["metadata"]

    # --- scaling ------------------------------------------------------------------------------------
    def scale_rs(self, d: Obj, rs: Obj, size: int) -> Obj:
        surge, _ = du.surge_and_unavailable(d)
        replicas = int(d["spec"].get("replicas", 1))
        updated = copy.deepcopy(rs)
        annotated = du.set_replicas_annotations(updated, replicas, replicas + surge)
        if int(rs["spec"].get("replicas", 0)) == size and not annotated:
            return rs
        before = int(rs["spec"].get("replicas", 0))
        updated["spec"]["replicas"] = size
        result = self.rs_client.update(updated)
        if size != before:
            self.recorder.event(d, "Normal", "ScalingReplicaSet",
                                f"Scaled {'up' if size > before else 'down'} replica set "
                                f"{rs['metadata']['name']} from {before} to {size}")
        return result

    def sync_scale(self, d: Obj, rs_list: list[Obj]) -> float | None:
        """Scale only (a paused Deployment, or ``spec.replicas`` changed): sync.go ``scale``."""
        new = self.get_new_rs(d, rs_list, create=False)
        old = [rs for rs in rs_list if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]]
        replicas = int(d["spec"].get("replicas", 1))
        active = [rs for rs in [*old, new] if rs is not None and int(rs["spec"].get("replicas", 0)) > 0]
        if len(active) <= 1:
            # one active ReplicaSet (or none: then the newest) simply gets the full size
            target = active[0] if active else (new or max(old, key=du.revision_of, default=None))
            if target is not None:
                self.scale_rs(d, target, replicas)
        elif new is not None and self._saturated(d, new):
            for rs in old:
                self.scale_rs(d, rs, 0)
        elif du.is_rolling(d):
            rolling = (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}
            sizes = proportional_scale(
                replicas=replicas, max_surge=rolling.get("maxSurge", "25%"),
                new=du.state_of(new) if new is not None else None,
                old=[du.state_of(rs) for rs in old],
                status_replicas=(d.get("status") or {}).get("replicas", 0))
            for rs in active:
                self.scale_rs(d, rs, sizes.get(rs["metadata"]["name"], 0))
        if d["spec"].get("paused"):
            self.cleanup(d, old)
        return self.sync_status(d, self._fresh(d), new)

    def _saturated(self, d: Obj, rs: Obj) -> bool:
        replicas = int(d["spec"].get("replicas", 1))
        desired = (rs["metadata"].get("annotations") or {}).get(du.DESIRED_REPLICAS)
        return (int(rs["spec"].get("replicas", 0)) == replicas and desired == str(replicas)
                and (rs.get("status") or {}).get("availableReplicas", 0) == replicas)

    # --- strategies --------------------------------------------------------------------------------
    def rollout_rolling(self, d: Obj, rs_list: list[Obj]) -> float | None:
        created = self.get_new_rs(d, rs_list, create=True)
        assert created is not None
        fresh = self._fresh(d)
        new = next((rs for rs in fresh if rs["metadata"]["uid"] == created["metadata"]["uid"]), created)
        old = [rs for rs in fresh if rs["metadata"]["uid"] != new["metadata"]["uid"]]
        rolling = (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}
        sizes = rolling_update_step(
            replicas=int(d["spec"].get("replicas", 1)),
            max_surge=rolling.get("maxSurge", "25%"), max_unavailable=rolling.get("maxUnavailable", "25%"),
            new=du.state_of(new), old=[du.state_of(rs) for rs in old])
        for rs in [new, *old]:
            if rs["metadata"]["name"] in sizes:
                self.scale_rs(d, rs, sizes[rs["metadata"]["name"]])
        if not sizes and du.deployment_complete(d, self.calculate_status(d, [new, *old], new)):
            self.cleanup(d, old)
        return self.sync_status(d, self._fresh(d), new)

    def rollout_recreate(self, d: Obj, rs_list: list[Obj]) -> float | None:
        new = self.get_new_rs(d, rs_list, create=False)
        old = [rs for rs in rs_list if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]]
        scaled_down = False
        for rs in old:
            if int(rs["spec"].get("replicas", 0)) != 0:
                self.scale_rs(d, rs, 0)
                scaled_down = True
        if scaled_down or self._old_pods_running(old):
            return self.sync_status(d, self._fresh(d), new)
        if new is None:
            new = self.get_new_rs(d, self._fresh(d), create=True)
            assert new is not None
        self.scale_rs(d, new, int(d["spec"].get("replicas", 1)))
        if du.deployment_complete(d, self.calculate_status(d, self._fresh(d), new)):
            self.cleanup(d, old)
        return self.sync_status(d, self._fresh(d), new)

    def _old_pods_running(self, old: list[Obj]) -> bool:
        for rs in old:
            if (rs.get("status") or {}).get("replicas", 0) > 0:
                return True
            for pod in self.pods.store.by_index(OWNER_INDEX, rs["metadata"]["uid"]):
                if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    return True
        return False

    def _fresh(self, d: Obj) -> list[Obj]:
        """Our ReplicaSets as the API server has them now (we just wrote some)."""
        return [rs for rs in self.rs_client.list(d["metadata"]["namespace"])["items"]
                if (controller_ref(rs) or {}).get("uid") == d["metadata"]["uid"]]

    def cleanup(self, d: Obj, old: list[Obj]) -> None:
        """Delete old, empty ReplicaSets beyond ``revisionHistoryLimit`` (oldest revisions first)."""
        limit = d["spec"].get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [rs for rs in old if not rs["metadata"].get("deletionTimestamp")]
        for rs in sorted(alive, key=du.revision_of)[:max(len(alive) - int(limit), 0)]:
            status = rs.get("status") or {}
            if status.get("replicas", 0) or int(rs["spec"].get("replicas", 0)) or \
                    rs["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
                continue
            try:
                self.rs_client.delete(rs["metadata"]["namespace"], rs["metadata"]["name"])
            except Exception as err:
                if not is_status(err, 404):
                    raise

    # --- status --------------------------------------------------------------------------------------
    def calculate_status(self, d: Obj, rs_list: list[Obj], new: Obj | None) -> Obj:
        def total(field: str) -> int:
            return sum((rs.get("status") or {}).get(field, 0) for rs in rs_list)

        replicas = int(d["spec"].get("replicas", 1))
        available = total("availableReplicas")
        status = copy.deepcopy(d.get("status") or {})
        status.update({
            "observedGeneration": d["metadata"].get("generation", 0),
            "replicas": total("replicas"),
            "updatedReplicas": (new.get("status") or {}).get("replicas", 0) if new else 0,
            "readyReplicas": total("readyReplicas"),
            "availableReplicas": available,
            "unavailableReplicas": max(replicas - available, 0),
        })
        _, unavailable = du.surge_and_unavailable(d)
        if available >= replicas - unavailable:
            du.set_condition(status, "Available", "True", "MinimumReplicasAvailable",
                             "Deployment has minimum availability.", self.clock.wall())
        else:
            du.set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                             "Deployment does not have minimum availability.", self.clock.wall())
        return status

    def sync_status(self, d: Obj, rs_list: list[Obj], new: Obj | None) -> float | None:
        """Write status and conditions; return when to look again for the progress deadline."""
        now = self.clock.wall()
        status = self.calculate_status(d, rs_list, new)
        deadline = d["spec"].get("progressDeadlineSeconds")
        cond = du.get_condition(status, "Progressing")
        paused_reason = (cond or {}).get("reason") == "DeploymentPaused"
        new_name = new["metadata"]["name"] if new else ""
        if d["spec"].get("paused"):
            if not paused_reason:
                du.set_condition(status, "Progressing", "Unknown", "DeploymentPaused",
                                 "Deployment is paused", now)
        elif paused_reason:
            du.set_condition(status, "Progressing", "Unknown", "DeploymentResumed",
                             "Deployment is resumed", now)
        elif deadline is not None and new is not None and not (
                status["replicas"] == int(d["spec"].get("replicas", 1))
                and (cond or {}).get("reason") == "NewReplicaSetAvailable"):
            if du.deployment_complete(d, status):
                du.set_condition(status, "Progressing", "True", "NewReplicaSetAvailable",
                                 f'ReplicaSet "{new_name}" has successfully progressed.', now)
            elif du.deployment_progressing(d, status):
                message = f'ReplicaSet "{new_name}" is progressing.'
                current = du.get_condition(status, "Progressing")
                du.set_condition(status, "Progressing", "True", "ReplicaSetUpdated", message, now)
                updated = du.get_condition(status, "Progressing")
                if current is not None and updated is current:  # same reason: refresh lastUpdateTime
                    current["lastUpdateTime"] = du.format_time(now)
            elif du.deployment_timed_out(d, status, now):
                du.set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded",
                                 f'ReplicaSet "{new_name}" has timed out progressing.', now)
        if status != (d.get("status") or {}):
            self.client.update_status({**d, "status": status})
        # requeueStuckDeployment: look again when the deadline would pass
        cond = du.get_condition(status, "Progressing")
        if deadline is None or cond is None or cond.get("reason") in (
                "NewReplicaSetAvailable", "ProgressDeadlineExceeded", "DeploymentPaused"):
            return None
        since = parse_time(cond.get("lastUpdateTime")) or now
        return max(since + int(deadline) - now, 0.0) + 1.0
