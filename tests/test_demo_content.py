"""Checks on the shipped demo content (content/data/) for the fictional county 云岭县.

Why: these files are what the bot answers from out of the box and what the importer
loads; a missing column, a duplicate title, a broken 序号 or a leaked phone/ID number
would reach residents. The checks read the files with the stdlib csv module and PyYAML
only, so they hold whatever the importer does.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml
from pypinyin import lazy_pinyin

DATA = Path(__file__).resolve().parent.parent / "content" / "data"

CATALOG_COLUMNS = [
    "序号", "领域", "一级事项", "二级事项", "公开内容", "公开依据", "公开时限",
    "公开主体", "公开渠道和载体", "公开对象", "公开方式", "公开层级", "别名",
]
GUIDE_COLUMNS = [
    "事项名称", "办理对象", "申请条件", "办理材料", "办理流程", "办理时限", "收费标准",
    "办理地点", "咨询电话", "监督电话", "常见问题", "领域", "别名",
]
OPTIONAL = {"别名"}

# The areas issue 3 names, each with the 领域 names that count as covering it.
REQUIRED_DOMAINS: dict[str, set[str]] = {
    "脱贫攻坚/乡村振兴": {"乡村振兴", "脱贫攻坚"},
    "村级财务": {"村级财务", "村务公开"},
    "惠农政策/涉农补贴": {"涉农补贴", "惠农政策"},
    "养老服务": {"养老服务"},
    "社会救助": {"社会救助"},
    "保障性住房": {"保障性住房"},
    "农村危房改造": {"农村危房改造"},
    "义务教育": {"义务教育"},
    "医疗卫生": {"医疗卫生", "卫生健康"},
    "就业": {"就业"},
    "社会保险": {"社会保险"},
    "户籍管理": {"户籍管理"},
    "救灾": {"救灾"},
    "公共法律服务": {"公共法律服务"},
    "征地补偿": {"征地补偿", "农村集体土地征收"},
}

ID_LIKE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
MOBILE = re.compile(r"(?<![0-9])(?:\+?86)?1[3-9][0-9]{9}(?![0-9])")
LANDLINE = re.compile(r"0599-[0-9]{7}")
PHONE_LIKE = re.compile(r"0599-[0-9]{7}(?![0-9])|(?<![0-9])123[0-9]{2}(?![0-9])")


def _read_csv(name: str) -> tuple[list[str], list[dict[str, str]]]:
    raw = (DATA / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), f"{name} must be UTF-8 without BOM"
    text = raw.decode("utf-8")
    reader = csv.DictReader(text.splitlines(keepends=True))
    rows = list(reader)
    for i, row in enumerate(rows, start=2):
        assert None not in row, f"{name} line {i}: more fields than columns"
        assert all(v is not None for v in row.values()), f"{name} line {i}: fewer fields than columns"
    return list(reader.fieldnames or []), rows


def _yaml(name: str) -> dict:
    raw = (DATA / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), f"{name} must be UTF-8 without BOM"
    return yaml.safe_load(raw.decode("utf-8"))


@pytest.fixture(scope="module")
def catalog() -> list[dict[str, str]]:
    header, rows = _read_csv("catalog.csv")
    assert header == CATALOG_COLUMNS
    return rows


@pytest.fixture(scope="module")
def guides() -> list[dict[str, str]]:
    header, rows = _read_csv("guides.csv")
    assert header == GUIDE_COLUMNS
    return rows


@pytest.fixture(scope="module")
def villages() -> dict:
    return _yaml("villages.yaml")


@pytest.fixture(scope="module")
def county() -> dict:
    return _yaml("county.yaml")


def _missing(rows: list[dict[str, str]], columns: list[str], key: str) -> list[str]:
    return [f"{row[key] or '?'}: {col}" for row in rows for col in columns
            if col not in OPTIONAL and not row[col].strip()]


def test_catalog_is_large_complete_and_unique(catalog: list[dict[str, str]]) -> None:
    assert len(catalog) >= 150
    assert _missing(catalog, CATALOG_COLUMNS, "二级事项") == []
    dups = [n for n, k in Counter(r["二级事项"] for r in catalog).items() if k > 1]
    assert dups == []
    for row in catalog:
        assert row["二级事项"] == row["二级事项"].strip()
        # Values an XLSX export marks with √ must come from the fixed vocabularies.
        assert set(row["公开对象"].split("、")) <= {"全社会", "特定群体"}, row["二级事项"]
        assert set(row["公开方式"].split("、")) <= {"主动", "依申请"}, row["二级事项"]
        assert set(row["公开层级"].split("、")) <= {"县级", "乡级", "村级"}, row["二级事项"]


def test_catalog_serial_restarts_per_domain(catalog: list[dict[str, str]]) -> None:
    serials: dict[str, list[int]] = defaultdict(list)
    order: list[str] = []
    for row in catalog:
        domain = row["领域"]
        if not order or order[-1] != domain:
            assert domain not in order, f"领域 {domain} is split into several blocks"
            order.append(domain)
        assert row["序号"].isdigit(), row
        serials[domain].append(int(row["序号"]))
    for domain, numbers in serials.items():
        assert numbers == list(range(1, len(numbers) + 1)), domain


def test_every_issue_domain_is_covered(catalog: list[dict[str, str]],
                                       guides: list[dict[str, str]]) -> None:
    catalog_counts = Counter(r["领域"] for r in catalog)
    guide_domains = {r["领域"] for r in guides}
    for area, names in REQUIRED_DOMAINS.items():
        assert sum(catalog_counts[n] for n in names) >= 5, f"catalog too thin for {area}"
        assert names & guide_domains, f"no service guide for {area}"


def test_guides_are_complete_and_unique(guides: list[dict[str, str]],
                                        catalog: list[dict[str, str]]) -> None:
    assert len(guides) >= 40
    assert _missing(guides, GUIDE_COLUMNS, "事项名称") == []
    names = Counter(r["事项名称"] for r in guides)
    assert [n for n, k in names.items() if k > 1] == []
    # A guide and a catalog item with the same title would make one of them unreachable.
    assert set(names) & {r["二级事项"] for r in catalog} == set()


def test_guide_faq_is_question_answer_pairs(guides: list[dict[str, str]]) -> None:
    for row in guides:
        faq = row["常见问题"]
        assert faq.startswith("问："), row["事项名称"]
        pairs = re.findall(r"问：(.+?)答：(.+?)(?=问：|$)", faq, flags=re.S)
        assert len(pairs) >= 2, row["事项名称"]
        assert faq.count("问：") == faq.count("答：") == len(pairs), row["事项名称"]


def test_guide_phones_are_known_numbers(guides: list[dict[str, str]], county: dict,
                                        villages: dict) -> None:
    """Every 0599- number in the guides belongs to a department, office or town on file."""
    known = set(LANDLINE.findall(yaml.safe_dump(county, allow_unicode=True)))
    known |= set(LANDLINE.findall(yaml.safe_dump(villages, allow_unicode=True)))
    for row in guides:
        for col in ("咨询电话", "监督电话"):
            assert PHONE_LIKE.search(row[col]), f"{row['事项名称']}: {col} has no number"
            unknown = set(LANDLINE.findall(row[col])) - known
            assert unknown == set(), f"{row['事项名称']}: {col} {unknown}"


def test_villages_have_towns_phones_and_unambiguous_aliases(villages: dict) -> None:
    towns = {t["name"]: t for t in villages["towns"]}
    assert len(towns) >= 3
    for town in towns.values():
        assert LANDLINE.fullmatch(str(town["service_center_phone"])), town["name"]
    entries = villages["villages"]
    names = [v["name"] for v in entries]
    assert len(names) == len(set(names))
    assert "青石村" in names
    per_town = Counter(v["town"] for v in entries)
    assert set(per_town) == set(towns)
    assert all(4 <= n <= 6 for n in per_town.values()), per_town
    for v in entries:
        assert LANDLINE.fullmatch(str(v["committee_phone"])), v["name"]
    phones = [v["committee_phone"] for v in entries] + [t["service_center_phone"] for t in towns.values()]
    assert len(phones) == len(set(phones))

    # An alias must point at exactly one place: no clash with another village, a town or its alias.
    taken: dict[str, str] = {}
    for t in towns.values():
        for label in [t["name"], *t.get("aliases", [])]:
            assert label not in taken, label
            taken[label] = t["name"]
    for v in entries:
        for label in [v["name"], *v.get("aliases", [])]:
            assert label not in taken, f"{label} is ambiguous ({taken.get(label)} / {v['name']})"
            taken[label] = v["name"]


def test_villages_include_homophones_for_careful_binding(villages: dict) -> None:
    """Fuzzy binding must be tested against look-alikes, so the demo must contain some."""
    by_sound: dict[str, list[str]] = defaultdict(list)
    for v in villages["villages"]:
        by_sound["".join(lazy_pinyin(v["name"]))].append(v["name"])
    homophones = [names for names in by_sound.values() if len(names) > 1]
    assert any({"青石村", "清石村"} <= set(names) for names in homophones), homophones


def test_county_facts(county: dict) -> None:
    assert county["name"] == "云岭县"
    office = county["disclosure_office"]
    assert LANDLINE.fullmatch(str(office["phone"]))
    assert office["address"].strip()
    assert str(county["hotline"]["number"]) == "12345"
    assert "12345" in county["fallback_contact_text"]
    for dept in county["departments"]:
        assert LANDLINE.fullmatch(str(dept["phone"])), dept["name"]


@pytest.mark.parametrize("name", ["catalog.csv", "guides.csv", "villages.yaml", "county.yaml"])
def test_no_id_numbers_or_unmasked_mobiles(name: str) -> None:
    text = (DATA / name).read_text(encoding="utf-8")
    assert ID_LIKE.findall(text) == []
    assert MOBILE.findall(text) == []


def test_privacy_checks_can_fail() -> None:
    """The patterns above must catch what they guard against (and spare masked numbers)."""
    assert ID_LIKE.search("身份证 11010519491231002X")
    assert MOBILE.search("电话13800000001。")
    assert not MOBILE.search("电话138****0001")
    assert not MOBILE.search("0599-6811021")
