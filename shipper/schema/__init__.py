"""Field definitions: the single source of names and types for everything shipper emits."""

from shipper.schema.fields import FieldDef, FieldTypeError, coerce, load_fields, render_markdown

__all__ = ["FieldDef", "FieldTypeError", "coerce", "load_fields", "render_markdown"]
