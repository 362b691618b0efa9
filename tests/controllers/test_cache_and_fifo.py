"""The informer's store (indexes) and the Delta FIFO (ordering, replace, resync)."""

from __future__ import annotations

import pytest

from fromscratch.controllers.cache import (
    NAMESPACE_INDEX,
    OWNER_INDEX,
    Store,
    meta_namespace_key,
    split_key,
)
from fromscratch.controllers.fifo import DeletedFinalStateUnknown, DeltaFIFO


def obj(name: str, namespace: str = "default", rv: str = "1", owner: str | None = None,
        node: str = "") -> dict:
    meta = {"name": name, "namespace": namespace, "resourceVersion": rv}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "kind": "ReplicaSet", "name": "rs"}]
    return {"metadata": meta, "spec": {"nodeName": node}}


def test_keys_are_namespace_slash_name_or_just_name():
    assert meta_namespace_key(obj("web")) == "default/web"
    assert meta_namespace_key({"metadata": {"name": "node-1"}}) == "node-1"
    assert split_key("default/web") == ("default", "web")
    assert split_key("node-1") == ("", "node-1")
    with pytest.raises(ValueError, match="unexpected key"):
        split_key("a/b/c")
    with pytest.raises(ValueError, match="metadata.name"):
        meta_namespace_key({"metadata": {}})


def test_namespace_and_owner_indexes_follow_updates_and_deletes():
    store = Store()
    store.add(obj("a", owner="u1"))
    store.add(obj("b", owner="u1"))
    store.add(obj("c", namespace="other", owner="u2"))
    assert [o["metadata"]["name"] for o in store.by_index(OWNER_INDEX, "u1")] == ["a", "b"]
    assert [o["metadata"]["name"] for o in store.list("other")] == ["c"]
    store.update(obj("b", owner="u2", rv="2"))  # b changed owner
    assert store.index_keys(OWNER_INDEX, "u1") == ["default/a"]
    assert store.index_keys(OWNER_INDEX, "u2") == ["default/b", "other/c"]
    store.delete(obj("a"))
    assert store.index_keys(OWNER_INDEX, "u1") == []
    assert store.index_keys(NAMESPACE_INDEX, "default") == ["default/b"]


def test_custom_indexer_added_later_indexes_existing_objects():
    store = Store()
    store.add(obj("a", node="n1"))
    store.add(obj("b", node="n2"))
    store.add(obj("c", node="n1"))
    store.add_indexers({"node": lambda o: [o["spec"]["nodeName"]] if o["spec"]["nodeName"] else []})
    assert store.index_keys("node", "n1") == ["default/a", "default/c"]
    with pytest.raises(ValueError, match="already exists"):
        store.add_indexers({"node": lambda o: []})
    with pytest.raises(KeyError):
        store.by_index("nope", "x")


def test_replace_swaps_the_content_and_rebuilds_indexes():
    store = Store()
    store.add(obj("a", owner="u1"))
    store.replace([obj("b", owner="u2")])
    assert store.keys() == ["default/b"]
    assert store.index_keys(OWNER_INDEX, "u1") == []


def test_deltas_for_one_object_are_kept_in_order_under_one_key():
    fifo = DeltaFIFO()
    fifo.add(obj("a", rv="1"))
    fifo.add(obj("b", rv="2"))
    fifo.update(obj("a", rv="3"))
    assert len(fifo) == 2
    key, deltas = fifo.pop(timeout=0)
    assert key == "default/a"
    assert [(d.type, d.object["metadata"]["resourceVersion"]) for d in deltas] == \
        [("Added", "1"), ("Updated", "3")]


def test_two_deletes_in_a_row_collapse_into_one():
    known = Store()
    known.add(obj("a"))
    fifo = DeltaFIFO(known_objects=known)
    fifo.delete(obj("a", rv="5"))
    fifo.replace([])  # the relist also notices a is gone
    _, deltas = fifo.pop(timeout=0)
    assert [d.type for d in deltas] == ["Deleted"]


def test_replace_reports_objects_deleted_while_not_watching():
    # a delete missed during a watch outage arrives as DeletedFinalStateUnknown
    known = Store()
    known.add(obj("gone", rv="4"))
    known.add(obj("kept", rv="4"))
    fifo = DeltaFIFO(known_objects=known)
    fifo.replace([obj("kept", rv="9")])
    popped = dict(fifo.pop(timeout=0) for _ in range(2))
    assert [d.type for d in popped["default/kept"]] == ["Replaced"]
    (delta,) = popped["default/gone"]
    assert delta.type == "Deleted"
    assert delta.object == DeletedFinalStateUnknown("default/gone", obj("gone", rv="4"))


def test_delete_of_an_unknown_object_is_ignored():
    fifo = DeltaFIFO(known_objects=Store())
    fifo.delete(obj("never-seen"))
    assert len(fifo) == 0


def test_resync_queues_sync_for_known_objects_without_pending_deltas():
    known = Store()
    known.add(obj("a"))
    known.add(obj("b"))
    fifo = DeltaFIFO(known_objects=known)
    fifo.update(obj("a", rv="2"))
    assert fifo.resync() == 1  # b only: a already has a pending delta
    popped = dict(fifo.pop(timeout=0) for _ in range(2))
    assert [d.type for d in popped["default/b"]] == ["Sync"]
    assert [d.type for d in popped["default/a"]] == ["Updated"]


def test_has_synced_after_the_first_list_is_popped():
    fifo = DeltaFIFO(known_objects=Store())
    assert not fifo.has_synced()
    fifo.replace([obj("a"), obj("b")])
    assert not fifo.has_synced()
    fifo.pop(timeout=0)
    assert not fifo.has_synced()
    fifo.pop(timeout=0)
    assert fifo.has_synced()


def test_pop_returns_none_once_closed_and_empty():
    fifo = DeltaFIFO()
    fifo.close()
    assert fifo.pop() is None
