"""Build catalog.xlsx and guides.csv for the 汾垣县 (jinnan) evaluation set from its YAML sources."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from county_layout import build, build_guides  # noqa: E402

print(build(HERE))
print(build_guides(HERE))
