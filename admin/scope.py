"""The staff scope now lives in core.scope (the query modules take it); kept importable here."""
from core.scope import Scope, apply_scope

__all__ = ["Scope", "apply_scope"]
