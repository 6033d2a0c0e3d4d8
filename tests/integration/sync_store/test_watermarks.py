"""Watermarks: one bookmark per (connection, module), written with the page."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from alix.integrations.zoho_crm.sync.store import watermarks as store
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.watermark import Watermark

from .conftest import NOW


def test_a_module_never_pulled_has_an_empty_bookmark(session: Session, scope: SyncScope) -> None:
    assert store.get_bookmark(session, scope, "Accounts") == store.Bookmark(Watermark(), None)


def test_watermark_and_deletions_time_are_kept_apart(session: Session, scope: SyncScope,
                                                     other: SyncScope) -> None:
    mark = Watermark(NOW.replace(microsecond=0), frozenset({"100", "101"}))
    store.put_watermark(session, scope, "Accounts", mark, NOW)
    store.put_deletions_checked(session, scope, "Accounts", NOW - timedelta(minutes=1), NOW)
    store.put_deletions_checked(session, scope, "Contacts", NOW, NOW)
    session.commit()
    assert store.get_bookmark(session, scope, "Accounts") == store.Bookmark(
        mark, NOW - timedelta(minutes=1))
    assert store.get_bookmark(session, scope, "Contacts") == store.Bookmark(Watermark(), NOW)
    assert store.get_bookmark(session, other, "Accounts") == store.Bookmark()

    later = Watermark(NOW + timedelta(seconds=5), frozenset({"102"}))
    store.put_watermark(session, scope, "Accounts", later, NOW)
    session.commit()
    assert store.get_bookmark(session, scope, "Accounts") == store.Bookmark(
        later, NOW - timedelta(minutes=1))


def test_a_rolled_back_page_leaves_the_watermark(session: Session, scope: SyncScope) -> None:
    first = Watermark(NOW, frozenset({"1"}))
    store.put_watermark(session, scope, "Accounts", first, NOW)
    session.commit()
    store.put_watermark(session, scope, "Accounts", Watermark(NOW + timedelta(hours=1)), NOW)
    session.rollback()
    assert store.get_bookmark(session, scope, "Accounts").watermark == first
