"""The lexicon and synonym files are edited by hand and merged from several people's passes; YAML
does not object to what such merges leave behind, so these checks do."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import yaml

from content.normalize import DATA_DIR


class _StrictLoader(yaml.SafeLoader):
    """Records every mapping key that occurs twice: YAML keeps the last silently, so a rewrite
    added twice with different targets would lose one without a word."""

    duplicates: list[str] = []


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    keys = [loader.construct_object(k) for k, _v in node.value]
    loader.duplicates.extend(str(k) for k, n in Counter(keys).items() if n > 1)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def test_the_lexicon_has_no_key_twice() -> None:
    _StrictLoader.duplicates = []
    with open(Path(DATA_DIR) / "lexicon.yaml", encoding="utf-8") as fh:
        yaml.load(fh, _StrictLoader)  # noqa: S506 - a SafeLoader subclass
    assert _StrictLoader.duplicates == []


def test_a_synonym_term_belongs_to_one_group() -> None:
    """A term in two groups is read as whichever group comes last: the first group silently loses it
    (two passes adding to the same group in separate lines leave exactly this)."""
    groups = yaml.safe_load((Path(DATA_DIR) / "synonyms.yaml").read_text(encoding="utf-8"))
    where: dict[str, list[str]] = defaultdict(list)
    for group in groups:
        for term in group:
            where[term].append(group[0])
    assert {t: heads for t, heads in where.items() if len(heads) > 1} == {}


def test_the_strict_loader_notices_a_repeated_key() -> None:
    _StrictLoader.duplicates = []
    yaml.load("rewrites:\n  咋整: 怎么办\n  咋整: 怎么弄\n", _StrictLoader)  # noqa: S506
    assert _StrictLoader.duplicates == ["咋整"]
