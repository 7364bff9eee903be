"""Build 淮澜县 (subei) catalog.xlsx and guides.csv from the YAML sources in this folder."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from county_layout import build, build_guides  # noqa: E402

print(build(HERE), build_guides(HERE))
