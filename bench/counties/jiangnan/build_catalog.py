"""Build 溇塘县's catalog.xlsx and guides.csv from catalog_source.yaml and guides_source.yaml, in the county layout of
bench/counties/county_layout.py.

Run: .venv/bin/python bench/counties/jiangnan/build_catalog.py
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from county_layout import build, build_guides  # noqa: E402

# This county's guides source names the 监督电话 field `supervise`.
KEYS = ("name", "target", "conditions", "materials", "steps", "limit", "fee", "place", "phone", "supervise", "faq")

if __name__ == "__main__":
    print(f"catalog.xlsx: {build(HERE)} items")
    print(f"guides.csv: {build_guides(HERE, KEYS)} guides")
