"""Build 坝川县's catalog.xlsx and guides.csv from catalog_source.yaml and guides_source.yaml, in the county layout of
bench/counties/county_layout.py.

Run: .venv/bin/python bench/counties/jibei/build_catalog.py
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from county_layout import build, build_guides  # noqa: E402

if __name__ == "__main__":
    print(f"catalog.xlsx: {build(HERE)} items")
    print(f"guides.csv: {build_guides(HERE)} guides")
