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


# entries a question holds only once another rewrite has made them: 贴出嚟 → 贴出来 (嚟 → 来), while
# 贴出来 typed as such is read as 公示
MADE_BY_OTHER_REWRITES = {"贴出来"}


def _dead_entries(lexicon_file: Path) -> list[tuple[str, str, str]]:
    """(section, entry, what a question holding it becomes) for each word list entry that a question
    can never contain: the question is rewritten (dialect, fillers) before these lists are looked
    for, the lists only get the synonyms. A cue 几钱 under a rewrite 几钱 → 多少钱 is dead."""
    from content.matcher import GAP
    from content.normalize import Lexicon, TextNormalizer, default_synonyms, load_lexicon

    lexicon: Lexicon = load_lexicon.__wrapped__(str(lexicon_file))  # not cached: a test's file
    norm = TextNormalizer(default_synonyms(), lexicon)
    # how the matcher looks each list up: frame words raw in the canonical question, the
    # information request phrases raw in the spoken one (no synonyms), the rest as canonical words
    canonical = (norm.flat, norm.question)
    entries = [("frame_words", w, (str, norm.question)) for w in lexicon.frame_words]
    entries += [("off_topic", w, canonical) for w in lexicon.off_topic]
    entries += [("information_request", w, (str, norm.spoken)) for w in lexicon.information_request]
    entries += [("application_result", w, canonical) for w in lexicon.result_cues]
    entries += [(f"facets.{name}.cues", part, canonical) for name, spec in lexicon.facets.items()
                for cue in spec.get("cues") or () for part in str(cue).split(GAP)]
    dead = []
    for section, entry, (looked_for, asked_as) in entries:
        if entry.endswith("吗"):    # …吗 cues are looked for at a clause's end, without the 吗
            entry = entry[:-1]
        if not entry or entry in MADE_BY_OTHER_REWRITES:
            continue
        # followed by a letter, so that a clause-final particle (哪些是, 费用是) is not dropped
        asked = asked_as(entry + "x").replace(" ", "")
        if (wanted := looked_for(entry)) and wanted not in asked:
            dead.append((section, entry, asked[:-1]))
    return dead


def test_every_word_list_entry_can_occur_in_a_rewritten_question() -> None:
    """Each pass adds rewrites, and a rewrite silently kills a cue, frame word or off-topic phrase
    that holds its key (round 12 removed 45 such entries, e.g. frame word 屋里人 after 屋里人 → 家里人)."""
    assert _dead_entries(Path(DATA_DIR) / "lexicon.yaml") == []


def test_a_cue_under_a_rewrite_is_reported_dead(tmp_path: Path) -> None:
    text = (Path(DATA_DIR) / "lexicon.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    raw["rewrites"]["几钱"] = "多少钱"
    raw["facets"]["amount"]["cues"].append("几钱")
    raw["off_topic"].append("几钱一斤")
    probe = tmp_path / "lexicon.yaml"
    probe.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    dead = _dead_entries(probe)
    assert ("facets.amount.cues", "几钱", "多少钱") in dead
    assert ("off_topic", "几钱一斤", "多少钱一斤") in dead


def _word_list_entries() -> dict[str, set[str]]:
    """Every entry of the two word files, by file: synonym terms; rewrite keys, fillers, frame
    words, off-topic phrases and cues (each part of a gapped cue) of the lexicon."""
    from content.matcher import GAP

    groups = yaml.safe_load((Path(DATA_DIR) / "synonyms.yaml").read_text(encoding="utf-8"))
    lex = yaml.safe_load((Path(DATA_DIR) / "lexicon.yaml").read_text(encoding="utf-8"))
    lexicon = set(lex.get("rewrites") or {}) | set(lex.get("fillers") or ())
    lexicon |= {str(w) for key in ("frame_words", "off_topic", "information_request") for w in lex.get(key) or ()}
    lexicon |= {part for spec in (lex.get("facets") or {}).values()
                for cue in spec.get("cues") or () for part in str(cue).split(GAP)}
    return {"synonyms.yaml": {str(t) for g in groups for t in g}, "lexicon.yaml": lexicon}


def test_an_entry_a_review_took_out_stays_out() -> None:
    """tests/rejected_words.yaml lists what reviews removed and why; word passes kept adding the
    same entries back (six in round 15)."""
    rejected = yaml.safe_load((Path(__file__).parent / "rejected_words.yaml").read_text(encoding="utf-8"))
    entries = _word_list_entries()
    back = [(f, w, why) for f, words in rejected.items() for w, why in words.items() if w in entries[f]]
    assert back == []


def test_the_rejected_list_check_sees_a_synonym_term() -> None:
    entries = _word_list_entries()
    assert "低保" in entries["synonyms.yaml"] and "咋" in entries["lexicon.yaml"]
