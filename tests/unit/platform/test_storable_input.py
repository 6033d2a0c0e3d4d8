"""Which multipart bodies hold a NUL the databases cannot store: fields' values, not files."""

from __future__ import annotations

from alix.web.storable_input import body_has_nul

TYPE = b"multipart/form-data; boundary=----WebKitFormBoundaryAbC9"


def multipart(*parts: tuple[str, bytes, str | None]) -> bytes:
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"'
                                                     if filename else "")
        out += (f"------WebKitFormBoundaryAbC9\r\nContent-Disposition: {disposition}\r\n\r\n"
                .encode() + value + b"\r\n")
    return out + b"------WebKitFormBoundaryAbC9--\r\n"


def test_a_nul_in_a_field_after_a_file_is_found() -> None:
    body = multipart(("upload", b"PK\x03\x04\x00\x00", "a.zip"), ("name", b"Acme\x00", None))
    assert body_has_nul(TYPE, body)


def test_a_file_may_hold_nul_bytes_when_the_fields_do_not() -> None:
    body = multipart(("upload", b"PK\x03\x04\x00\x00", "a.zip"), ("name", b"Acme", None))
    assert not body_has_nul(TYPE, body)


def test_a_nul_in_a_quoted_boundarys_field_is_found() -> None:
    quoted = b'multipart/form-data; boundary="----WebKitFormBoundaryAbC9"'
    assert body_has_nul(quoted, multipart(("name", b"Ac\x00me", None)))
    assert not body_has_nul(quoted, multipart(("name", b"Acme", None)))
