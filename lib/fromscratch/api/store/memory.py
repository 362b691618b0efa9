"""The in-memory store: a sorted dict of JSON texts.

The default back-end: fast, and gone when the process ends.  Objects are kept
as JSON text rather than live dicts, like etcd keeps bytes: whatever a caller
does to an object it got back cannot change what is stored.
"""

from __future__ import annotations

import bisect

from fromscratch.api.store.interface import Store


class MemoryStore(Store):
    """Keys in a sorted list for prefix scans, texts in a dict."""

    def __init__(self, *, history: int = 10_000) -> None:
        self._texts: dict[str, str] = {}
        self._keys: list[str] = []
        super().__init__(history=history)

    def _load_rv(self) -> int:
        return 0

    def _load(self, key: str) -> str | None:
        return self._texts.get(key)

    def _save(self, key: str, text: str, rv: int) -> None:
        if key not in self._texts:
            bisect.insort(self._keys, key)
        self._texts[key] = text

    def _remove(self, key: str, rv: int) -> None:
        del self._texts[key]
        self._keys.pop(bisect.bisect_left(self._keys, key))

    def _scan(self, prefix: str) -> list[tuple[str, str]]:
        start = bisect.bisect_left(self._keys, prefix)
        result = []
        for key in self._keys[start:]:
            if not key.startswith(prefix):
                break
            result.append((key, self._texts[key]))
        return result
