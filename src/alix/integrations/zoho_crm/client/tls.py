"""The process's TLS context for HTTPS to Zoho: built once, shared by every client.

Building one loads the CA bundle (about 65 ms on our machines), and every sync job opens a
client with two HTTP pools: per job that was most of a notification's latency (issue 14).
An `ssl.SSLContext` is safe to share between connections and threads once configured.
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi, or SSL_CERT_FILE/SSL_CERT_DIR), once."""
    return httpx.create_ssl_context()
