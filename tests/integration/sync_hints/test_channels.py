"""Notification channels against the fake: one per connection, renewed before expiry, replaced
when the watched modules change, deleted when nothing is to be watched."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from alix.integrations.zoho_crm.mappers import ModuleKind
from alix.integrations.zoho_crm.sync.engine.channels import (
    ChannelKeeper,
    channels_of,
    verify,
    wanted_events,
    zoho_channels,
)
from tests.integration.sync_hints.conftest import World
from tests.unit.sync.configuration import configuration

PUBLIC = "https://alix.example.com/"


def test_events_follow_the_active_modules() -> None:
    assert wanted_events(configuration()) == (
        "Accounts.all", "Contacts.all", "Billing_Addresses.all")
    assert wanted_events(configuration(inactive=(ModuleKind.BILLING, ModuleKind.SHIPPING))) == (
        "Accounts.all", "Contacts.all")
    assert wanted_events(configuration(inactive=tuple(ModuleKind))) == ()


def _reconcile(world: World, keeper: ChannelKeeper, events: tuple[str, ...]) -> object:
    scope = world.ctx.scope
    return asyncio.run(keeper.reconcile(world.ctx.sessions, scope.connection_id,
                                        scope.organisation_id, events))


def test_create_renew_replace_and_delete(world: World) -> None:
    secrets = iter(["token-one", "token-two", "token-three"])
    keeper = ChannelKeeper(world.crm, world.clock, PUBLIC, new_secret=lambda: next(secrets))
    events = wanted_events(world.ctx.config)
    renew_at = _reconcile(world, keeper, events)
    [channel] = world.crm.channels.values()
    assert channel.events == events
    assert channel.notify_url == (
        f"https://alix.example.com/integrations/zoho-crm/notifications/{channel.channel_id}")
    assert channel.token == "token-one" and channel.channel_id.isdigit()
    assert channel.expires_at is not None
    assert renew_at == channel.expires_at - timedelta(days=1)
    with world.ctx.sessions() as session:
        assert verify(session, channel.channel_id, "token-one") is not None
        assert verify(session, channel.channel_id, "token-two") is None
        digests = session.scalars(select(zoho_channels.c.token_digest)).all()
    assert "token-one" not in digests[0]  # only a digest is stored

    # Nothing due: no call at all.
    calls = world.crm.calls
    _reconcile(world, keeper, events)
    assert world.crm.calls == calls

    # Due: renewed in place, same id and token.
    world.clock.advance(timedelta(days=5, hours=1).total_seconds())
    _reconcile(world, keeper, events)
    [renewed] = world.crm.channels.values()
    assert renewed.channel_id == channel.channel_id
    assert renewed.expires_at is not None and renewed.expires_at > channel.expires_at

    # Other modules watched: a new channel replaces the old one.
    fewer = ("Accounts.all", "Contacts.all")
    _reconcile(world, keeper, fewer)
    [replaced] = world.crm.channels.values()
    assert replaced.channel_id != channel.channel_id and replaced.events == fewer
    with world.ctx.sessions() as session:
        assert [c.channel_id for c in channels_of(session, world.ctx.scope.connection_id)] == [
            replaced.channel_id]
        assert verify(session, channel.channel_id, "token-one") is None

    # Nothing to watch (Customers switched off): deleted on both sides.
    assert _reconcile(world, keeper, ()) is None
    assert world.crm.channels == {}
    with world.ctx.sessions() as session:
        assert channels_of(session, world.ctx.scope.connection_id) == []


def test_a_channel_zoho_dropped_is_created_again(world: World) -> None:
    keeper = ChannelKeeper(world.crm, world.clock, PUBLIC)
    events = wanted_events(world.ctx.config)
    _reconcile(world, keeper, events)
    world.crm.channels.clear()  # expired or deleted on Zoho's side
    world.clock.advance(timedelta(days=5, hours=12).total_seconds())
    _reconcile(world, keeper, events)
    assert len(world.crm.channels) == 1
    with world.ctx.sessions() as session:
        stored = channels_of(session, world.ctx.scope.connection_id)
    assert [c.channel_id for c in stored] == list(world.crm.channels)
