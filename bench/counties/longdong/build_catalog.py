import sys
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from county_layout import build, build_guides; print(build(HERE)); print(build_guides(HERE))
