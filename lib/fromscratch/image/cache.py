"""The build cache: skip a step whose inputs have been seen before.

Docker's classic builder looks for an existing image whose parent is the
current image and whose command is the same instruction; for ``COPY``/``ADD``
it also compares a checksum of the files.  We key each step by

    sha256(parent ChainID, parent config, instruction text, content digest)

— the parent config is part of the key because ``ENV``/``WORKDIR``/``USER``
change what a later ``RUN`` does even though they add no layer — and store
what the step produced: the new config and, for filesystem steps, the layer.

The cache is one JSON file in the image store.  Simplified: no eviction, and a
``RUN`` that downloads something is cached like any other (as in Docker).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from fromscratch.image.oci import canonical_json


def step_key(*, parent_chain_id: str, parent_config: dict[str, Any], instruction: str,
             content_digest: str = "") -> str:
    """The cache key of one build step."""
    material = canonical_json({"parent": parent_chain_id, "config": parent_config,
                               "instruction": instruction, "content": content_digest})
    return "sha256:" + hashlib.sha256(material).hexdigest()


class BuildCache:
    """``key -> result`` persisted in ``cache.json`` next to the image store."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.entries: dict[str, dict[str, Any]] = (
            json.loads(self.path.read_text()) if self.path.exists() else {})

    def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    def put(self, key: str, result: dict[str, Any]) -> None:
        self.entries[key] = result
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
        tmp.replace(self.path)

    def __len__(self) -> int:
        return len(self.entries)
