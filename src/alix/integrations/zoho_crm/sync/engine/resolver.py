"""Place names to ISO codes with ALIX's own tables, for mapping Zoho addresses."""

from __future__ import annotations

from alix.customers import geography


class GeographyResolver:
    """Place names to ISO codes with ALIX's own tables, so "Canada" in Zoho equals "CA" in ALIX
    (ALIX stores codes): without it every address would look changed on both sides."""

    def country(self, text: str) -> str | None:
        code = geography.country_code(text)
        return code.upper() if code and len(code) == 2 and code.isalpha() else None

    def subdivision(self, text: str, country: str | None) -> str | None:
        code = geography.province_code(text, country)
        if code is None or country is None or code == text.strip():
            return text.upper() if "-" in text and len(text) <= 6 else None
        return code.upper()


RESOLVER = GeographyResolver()
