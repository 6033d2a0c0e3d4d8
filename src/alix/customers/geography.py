"""Countries (ISO 3166-1) and provinces (ISO 3166-2) from pycountry: codes in, names out.

A value that matches a known country or subdivision is stored as its code; anything else is
kept exactly as typed (trimmed), so a foreign or unusual address is never silently dropped.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import pycountry


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                index.setdefault(_fold(value), code)
    return index


@lru_cache(maxsize=512)
def _subdivision_index(country_code: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=country_code) or ():
        index[_fold(sub.code)] = sub.code
        index.setdefault(_fold(sub.code.split("-", 1)[1]), sub.code)
        index.setdefault(_fold(sub.name), sub.code)
    return index


@lru_cache(maxsize=4096)
def country_code(text: str | None) -> str | None:
    """The alpha-2 code of the country text names (code, name or official name), else text."""
    if text is None or not text.strip():
        return None
    return _country_index().get(_fold(text), text.strip())


@lru_cache(maxsize=4096)
def province_code(text: str | None, country: str | None) -> str | None:
    """The ISO 3166-2 code of the province text names within country, else text as typed."""
    if text is None or not text.strip():
        return None
    if country is None or len(country) != 2:
        return text.strip()
    return _subdivision_index(country.upper()).get(_fold(text), text.strip())


def country_name(value: str | None) -> str:
    """The name to show for a stored country (code or free text)."""
    if not value:
        return ""
    if len(value) == 2:
        found = pycountry.countries.get(alpha_2=value.upper())
        if found is not None:
            return str(found.name)
    return value


def province_name(value: str | None) -> str:
    """The name to show for a stored province (ISO 3166-2 code or free text)."""
    if not value:
        return ""
    if "-" in value:
        found = pycountry.subdivisions.get(code=value.upper())
        if found is not None:
            return str(found.name)
    return value


@lru_cache(maxsize=1)
def country_choices() -> tuple[tuple[str, str], ...]:
    """(code, name) of every country, by name: the suggestions of the address form."""
    return tuple(sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda p: p[1]))
