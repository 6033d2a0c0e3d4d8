"""Zoho data centres: where to exchange codes and refresh tokens, and which servers to trust."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigurationError


@dataclass(frozen=True)
class DataCentre:
    """One Zoho data centre: its `location` code, accounts server and default API domain."""

    location: str
    accounts_url: str
    api_domain: str


# zoho-crm-api.md section 1 [SDK]; CA's accounts server is zohocloud.ca, not zoho.ca. The UK API
# host is [INF] (not in the v8 SDK): it is only a default, calls use the token's api_domain.
DATA_CENTRES: dict[str, DataCentre] = {
    dc.location: dc
    for dc in (
        DataCentre("us", "https://accounts.zoho.com", "https://www.zohoapis.com"),
        DataCentre("eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"),
        DataCentre("in", "https://accounts.zoho.in", "https://www.zohoapis.in"),
        DataCentre("au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
        DataCentre("jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp"),
        DataCentre("ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
        DataCentre("sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa"),
        DataCentre("uk", "https://accounts.zoho.uk", "https://www.zohoapis.uk"),
        DataCentre("cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
    )
}


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ConfigurationError(f"{url!r} is not an absolute URL of an accounts server.")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def accounts_server(
    *,
    location: str | None = None,
    named: str | None = None,
    override: str | None = None,
) -> str:
    """Choose the accounts server for a code exchange or refresh, trusting only known servers.

    `override` is the development accounts URL (the emulator, fed from ALIX_ZOHO_ACCOUNTS_URL by
    the app's settings); when given it is the only server used. Otherwise `named` (the
    `accounts-server` of Zoho's redirect) must be one of DATA_CENTRES, and `location` picks one
    by code. A redirect naming any other host is refused: exchanging a code there would hand
    our client secret to whoever forged the redirect.
    """
    if override:
        trusted = _origin(override)
        if named and _origin(named) != trusted:
            raise ConfigurationError(
                f"The redirect named accounts server {named!r}, but this installation only "
                f"trusts its configured accounts server {trusted!r}."
            )
        return trusted
    known = {dc.accounts_url for dc in DATA_CENTRES.values()}
    if named:
        candidate = _origin(named)
        if candidate not in known:
            raise ConfigurationError(
                f"Refusing to use accounts server {named!r}: it is not a Zoho data centre."
            )
        return candidate
    if location:
        dc = DATA_CENTRES.get(location.lower())
        if dc is None:
            raise ConfigurationError(f"Unknown Zoho data centre location {location!r}.")
        return dc.accounts_url
    return DATA_CENTRES["us"].accounts_url
