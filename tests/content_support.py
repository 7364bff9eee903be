"""Content as staff bring it: a YAML file written and imported through the real importer."""
from __future__ import annotations

from pathlib import Path


def import_yaml(folder: Path, name: str, text: str) -> None:
    """Write `text` as folder/name and import it (`python -m bot import`'s own function)."""
    from content.importer import import_files

    path = folder / name
    path.write_text(text, encoding="utf-8")
    import_files([path])
