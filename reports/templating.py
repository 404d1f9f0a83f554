"""HTML pages from Jinja2 templates in ``reports/templates`` with autoescaping: data values
are never formatted into markup by hand."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2


def count_phrase(number: int, singular: str, plural: str) -> str:
    """Return ``"1 inschrijving"`` or ``"3 inschrijvingen"``: the number with the right form."""
    return f"{number} {singular if number == 1 else plural}"


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["aantal"] = count_phrase
    return environment


def render(template: str, **context: Any) -> bytes:
    """Return the template ``template`` rendered with ``context`` as UTF-8 bytes; every value is
    escaped, and a name the template uses but ``context`` lacks raises an error."""
    return _environment().get_template(template).render(**context).encode("utf-8")
