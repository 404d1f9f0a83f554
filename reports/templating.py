"""HTML pages from Jinja2 templates in ``reports/templates`` with autoescaping: data values
are never formatted into markup by hand."""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import cache
from typing import Any, cast

import jinja2
from markupsafe import Markup


def count_phrase(number: int, singular: str, plural: str) -> str:
    """Return ``"1 inschrijving"`` or ``"3 inschrijvingen"``: the number with the right form."""
    return f"{number} {singular if number == 1 else plural}"


def escaped(value: Any) -> Any:
    """Return ``value`` escaped as :func:`html.escape` does (``'`` as ``&#x27;``, ``"`` as
    ``&quot;``), marked safe so that autoescaping leaves it as it is: the pages read the same,
    byte for byte, as when they were built by hand."""
    if isinstance(value, Markup) or value is None:
        return value
    return Markup(html.escape(str(value)))  # noqa: S704 (escaped here)


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=escaped,
    )
    environment.filters["aantal"] = count_phrase
    return environment


def render(template: str, **context: Any) -> bytes:
    """Return the template ``template`` rendered with ``context`` as UTF-8 bytes; every value is
    escaped, and a name the template uses but ``context`` lacks raises an error."""
    return _environment().get_template(template).render(**context).encode("utf-8")


def macro(template: str, name: str) -> Callable[..., Markup]:
    """Return the macro ``name`` of the template ``template``: called with values, it returns
    its markup with every value escaped."""
    return cast(Callable[..., Markup], getattr(_environment().get_template(template).module, name))
