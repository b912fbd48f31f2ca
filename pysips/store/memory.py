"""The default store: per-kind dicts in this process (state survives an engine restart, not a process one)."""

from __future__ import annotations

from collections.abc import Mapping

import trio

from pysips.store import Record


class MemoryStore:
    """Dicts of copied records; every call completes immediately."""

    backend = "memory"
    pending = 0

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Record]] = {}

    def put(self, kind: str, key: str, record: Mapping[str, str | int]) -> None:
        # copied so the engine may keep mutating its own dict; the same snapshot semantics as Redis
        try:
            self._data[kind][key] = dict(record)
        except KeyError:
            self._data[kind] = {key: dict(record)}

    def delete(self, kind: str, key: str) -> None:
        table = self._data.get(kind)
        if table is not None:
            table.pop(key, None)

    async def get(self, kind: str, key: str) -> Record | None:
        await trio.lowlevel.checkpoint()
        record = self._data.get(kind, {}).get(key)
        return None if record is None else dict(record)

    async def load_all(self, kind: str) -> dict[str, Record]:
        await trio.lowlevel.checkpoint()
        return {key: dict(record) for key, record in self._data.get(kind, {}).items()}

    async def flush(self) -> bool:
        await trio.lowlevel.checkpoint()
        return True

    async def start(self, nursery: trio.Nursery) -> None:
        await trio.lowlevel.checkpoint()

    async def close(self) -> None:
        await trio.lowlevel.checkpoint()
