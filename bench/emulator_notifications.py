"""Notification callbacks under a stream of edits: callbacks/s and write-to-callback delay.

A real emulator (uvicorn thread) and a real callback receiver on 127.0.0.1; one channel on
Accounts.edit; a client streams single-record edits and we time each record's callback from
the moment its write was sent. The write round trip is the baseline in the same run. Then the
first callback after a quiet spell (longer than the 2 s after which the sender thread used to
end): write-to-callback delay of single edits each after `--idle` seconds without callbacks.

Run: .venv/bin/python bench/emulator_notifications.py [--edits N] [--writers W] [--spells S]
         [--idle SECONDS]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import httpx

from zoho_emulator.features import features
from zoho_emulator.receiver import CallbackReceiver
from zoho_emulator.testing import EmulatorServer


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def _stream(emu: EmulatorServer, token: str, ids: list[str], sent: dict[str, float],
            round_trips: list[float]) -> None:
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    with httpx.Client(base_url=emu.base_url, headers=headers, timeout=30) as client:
        for i, rid in enumerate(ids):
            start = time.perf_counter()
            sent[rid] = start
            answer = client.put(f"/crm/v8/Accounts/{rid}",
                                json={"data": [{"Phone": f"+1 555 {i:04d}"}], "trigger": []})
            round_trips.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.text


def run(edits: int, writers: int) -> dict[str, float]:
    with EmulatorServer() as emu, CallbackReceiver() as hooks:
        try:
            emu.state.default_org.credits_override = 10**9
            token = emu.access_token()
            with httpx.Client(base_url=emu.base_url, timeout=30, headers={
                    "Authorization": f"Zoho-oauthtoken {token}"}) as client:
                ids = []
                for first in range(0, edits, 100):
                    batch = [{"Account_Name": f"Bench {i}"}
                             for i in range(first, min(edits, first + 100))]
                    made = client.post("/crm/v8/Accounts", json={"data": batch})
                    ids += [d["details"]["id"] for d in made.json()["data"]]
                answer = client.post("/crm/v8/actions/watch", json={"watch": [{
                    "channel_id": "1", "events": ["Accounts.edit"],
                    "notify_url": hooks.url("/bench"), "token": "bench"}]})
                assert answer.status_code == 201, answer.text
            sent: dict[str, float] = {}
            round_trips: list[float] = []
            chunks = [ids[w::writers] for w in range(writers)]
            start = time.perf_counter()
            threads = [threading.Thread(target=_stream, args=(emu, token, chunk, sent,
                                                                round_trips))
                       for chunk in chunks]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            calls = hooks.wait_for(lambda c: len(c) >= edits, timeout=60)
            end = max(c.arrived for c in calls)
            delays = [c.arrived - sent[c.body["ids"][0]] for c in calls]
        finally:
            features(emu.state).close()
    return {
        "edits": edits, "callbacks": len(calls), "seconds": end - start,
        "callbacks_per_s": len(calls) / (end - start),
        "delay_p50_ms": statistics.median(delays) * 1000,
        "delay_p95_ms": _pct(delays, 0.95) * 1000,
        "write_p50_ms": statistics.median(round_trips) * 1000,
        "write_p95_ms": _pct(round_trips, 0.95) * 1000,
    }


def after_idle(spells: int, idle: float) -> tuple[list[float], list[float]]:
    """Seconds from sending an edit to its callback, and the edit's round trip, each edit after
    `idle` quiet seconds."""
    with EmulatorServer() as emu, CallbackReceiver() as hooks:
        try:
            token = emu.access_token()
            with httpx.Client(base_url=emu.base_url, timeout=30, headers={
                    "Authorization": f"Zoho-oauthtoken {token}"}) as client:
                made = client.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Idle"}]})
                rid = made.json()["data"][0]["details"]["id"]
                answer = client.post("/crm/v8/actions/watch", json={"watch": [{
                    "channel_id": "1", "events": ["Accounts.edit"],
                    "notify_url": hooks.url("/bench"), "token": "bench"}]})
                assert answer.status_code == 201, answer.text
                delays, round_trips = [], []
                for spell in range(spells + 1):  # the first edit only starts the sender
                    if spell:
                        time.sleep(idle)
                    sent = time.perf_counter()
                    client.put(f"/crm/v8/Accounts/{rid}",
                               json={"data": [{"Phone": f"+1 555 {spell:04d}"}]})
                    answered = time.perf_counter()
                    # wait_for calls the lambda before the loop moves on.
                    calls = hooks.wait_for(lambda c: len(c) > spell, timeout=10)  # noqa: B023
                    if spell:
                        delays.append(calls[spell].arrived - sent)
                        round_trips.append(answered - sent)
        finally:
            features(emu.state).close()
    return delays, round_trips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edits", type=int, default=1_000)
    parser.add_argument("--writers", type=int, default=1)
    parser.add_argument("--spells", type=int, default=8)
    parser.add_argument("--idle", type=float, default=2.5)
    args = parser.parse_args()
    rows = [run(args.edits, w) for w in sorted({1, args.writers, 4})]
    print(f"Notification callbacks, {args.edits} single-record edits of Accounts, one channel")
    print(f"{'writers':>7} {'callbacks':>9} {'cb/s':>8} {'delay p50':>10} {'delay p95':>10}"
          f" {'write p50':>10} {'write p95':>10} {'p50 ratio':>9}")
    for writers, r in zip(sorted({1, args.writers, 4}), rows, strict=True):
        print(f"{writers:>7} {int(r['callbacks']):>9} {r['callbacks_per_s']:>8.0f} "
              f"{r['delay_p50_ms']:>8.2f}ms {r['delay_p95_ms']:>8.2f}ms "
              f"{r['write_p50_ms']:>8.2f}ms {r['write_p95_ms']:>8.2f}ms "
              f"{r['delay_p50_ms'] / r['write_p50_ms']:>9.2f}")
    print("delay = write sent -> callback received; ratio = delay p50 / write round trip p50")
    idle, writes = after_idle(args.spells, args.idle)
    print(f"first callback after {args.idle:g} s idle ({args.spells} times): delay median "
          f"{statistics.median(idle) * 1000:.2f} ms, max {max(idle) * 1000:.2f} ms; "
          f"write round trip median {statistics.median(writes) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
