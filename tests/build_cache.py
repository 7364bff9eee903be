"""Work the suite repeats in every test with the same input, done once per test process.

Each test starts a fresh database and a fresh app, so every test that loads the demo county rebuilt
the same question index (~0.2 s of CPU) and every admin test compiled the same Jinja templates again
(each Flask app has its own environment). Measured with py-spy over the whole suite, index builds
were ~8 % and template compiles ~2 % of the samples. Both are pure functions of their input, so the
result is kept per process, keyed by the whole input:

- The app's index builds (`content.index` → `Matcher.build`; the matcher's own tests call
  `Matcher.build` directly and are left alone) are keyed by every document (frozen dataclasses, compared field by field), the
  synonym groups and the tuning objects: changed content is a different key and builds afresh, so a
  test of "the edit reaches the bot" still goes through `content.index`'s rebuild, its version check
  and its load of the rows; only the identical indexing work is skipped. The matcher keeps no per-question state
  that a test could leave behind (its caches are keyed by question and derived from the index).
- Jinja's bytecode cache is its documented hook for this (keyed by template name and source
  checksum, so an edited template recompiles).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from jinja2 import MemcachedBytecodeCache

from content import index
from content.matcher import Matcher

BUILDS_KEPT = 12     # the demo county, the small test catalogs; a big one rarely repeats


class _Memory:
    """The get/set client MemcachedBytecodeCache expects, in this process's memory."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self._data.get(key)

    def set(self, key: str, value: bytes, timeout: int | None = None) -> None:
        self._data[key] = value


class _IndexBuilds:
    """Stands in for `Matcher` inside `content.index` (the only name it uses there is `build`)."""

    def __init__(self) -> None:
        self._kept: OrderedDict[object, Matcher] = OrderedDict()

    def build(self, docs: Any, synonyms: Any = ()) -> Matcher:
        docs = tuple(docs)
        key = (docs, tuple(tuple(group) for group in synonyms))
        hit = self._kept.get(key)
        if hit is not None:
            self._kept.move_to_end(key)
            return hit
        built = Matcher.build(docs, synonyms)
        self._kept[key] = built
        if len(self._kept) > BUILDS_KEPT:
            self._kept.popitem(last=False)
        return built


@pytest.fixture(scope="session", autouse=True)
def reuse_identical_builds() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(index, "Matcher", _IndexBuilds())
        mp.setattr(Flask, "jinja_options", {**Flask.jinja_options,
                                            "bytecode_cache": MemcachedBytecodeCache(_Memory())})
        yield
