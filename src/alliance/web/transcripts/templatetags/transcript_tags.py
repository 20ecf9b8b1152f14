from typing import Any

from django import template

register = template.Library()


@register.filter
def dict_get(mapping: dict[str, Any], key: str) -> Any:
    """``{{ mapping|dict_get:key }}``: look a key up in a dict (templates cannot)."""
    return mapping.get(key, {})
