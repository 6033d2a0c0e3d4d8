"""The callback sender: long-lived threads and clients, FIFO per receiver, prompt close."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator

import pytest

from zoho_emulator.dispatcher import Delivery, Dispatcher
from zoho_emulator.receiver import CallbackReceiver

IDLE = 2.5  # longer than the 2 s after which the old sender thread ended


@pytest.fixture
def hooks() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as receiver:
        yield receiver


@pytest.fixture
def dispatcher() -> Iterator[Dispatcher]:
    sender = Dispatcher()
    yield sender
    sender.close()


def _senders(before: set[threading.Thread]) -> set[threading.Thread]:
    return {t for t in set(threading.enumerate()) - before if t.name == "zoho-emulator-callbacks"}


def _callback(url: str, n: int) -> Delivery:
    return Delivery(url, {"ids": [str(n)], "operation": "update"}, "notification")


def test_first_callback_after_an_idle_spell_reuses_the_thread_and_client(
        dispatcher: Dispatcher, hooks: CallbackReceiver) -> None:
    before = set(threading.enumerate())
    dispatcher.submit(_callback(hooks.url("/zoho"), 1))
    hooks.wait_for(lambda calls: len(calls) == 1)
    threads = _senders(before)
    time.sleep(IDLE)
    dispatcher.submit(_callback(hooks.url("/zoho"), 2))
    calls = hooks.wait_for(lambda calls: len(calls) == 2)
    assert [c.body["ids"] for c in calls] == [["1"], ["2"]]
    assert _senders(before) == threads and len(threads) == 1
    assert dispatcher.clients_built == 1


def test_each_receiver_hears_its_callbacks_in_submission_order(dispatcher: Dispatcher,
                                                               hooks: CallbackReceiver) -> None:
    with CallbackReceiver() as other:
        urls = [hooks.url("/zoho?src=a"), hooks.url("/zoho?src=b"), other.url("/elsewhere")]
        for n in range(90):
            dispatcher.submit(_callback(urls[n % 3], n))
        mine = hooks.wait_for(lambda calls: len(calls) == 60)
        theirs = other.wait_for(lambda calls: len(calls) == 30)
    assert [int(c.body["ids"][0]) for c in mine] == [n for n in range(90) if n % 3 != 2]
    assert [int(c.body["ids"][0]) for c in theirs] == list(range(2, 90, 3))


def test_inline_deliveries_share_one_client(dispatcher: Dispatcher,
                                            hooks: CallbackReceiver) -> None:
    dispatcher.faults.before_response = True
    for n in range(3):
        dispatcher.submit(_callback(hooks.url(), n))
        assert len(hooks.calls) == n + 1  # delivered before submit returned
    assert dispatcher.clients_built == 1


def test_close_stops_idle_threads_at_once(hooks: CallbackReceiver) -> None:
    before = set(threading.enumerate())
    dispatcher = Dispatcher()
    with CallbackReceiver() as other:
        for n, url in enumerate([hooks.url(), other.url()]):
            dispatcher.submit(_callback(url, n))
        hooks.wait_for(lambda calls: len(calls) == 1)
        other.wait_for(lambda calls: len(calls) == 1)
        threads = _senders(before)
        started = time.monotonic()
        dispatcher.close()
        assert time.monotonic() - started < 1
    assert threads and not any(t.is_alive() for t in threads)
    dispatcher.submit(_callback(hooks.url(), 9))
    assert not _senders(before) and dispatcher.pending() == 1  # closed: nothing goes out


def test_a_dispatcher_nobody_closed_is_collected_with_its_threads_and_clients(
        hooks: CallbackReceiver) -> None:
    before = set(threading.enumerate())
    dispatcher = Dispatcher()
    dispatcher.submit(_callback(hooks.url(), 1))
    dispatcher.faults.before_response = True
    dispatcher.submit(_callback(hooks.url(), 2))
    hooks.wait_for(lambda calls: len(calls) == 2)
    threads = _senders(before)
    del dispatcher
    gc.collect()  # an unclosed client's socket would be reported here, failing the test
    for thread in threads:
        thread.join(timeout=1)
    assert threads and not any(t.is_alive() for t in threads)
