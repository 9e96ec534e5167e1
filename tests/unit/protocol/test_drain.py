"""core.drain.Drain: items stepped in order on a pool, the last step once after close."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from serverless_lab.cloud.core.drain import Drain


def test_items_are_stepped_in_order_and_last_runs_once_after_close():
    seen: list[int] = []
    ended = threading.Event()
    ends: list[int] = []

    def last() -> None:
        ends.append(len(seen))
        ended.set()

    with ThreadPoolExecutor(max_workers=4) as pool:
        drain: Drain[int] = Drain(pool, seen.append, last)
        for item in range(500):
            drain.put(item)
        drain.close()
        assert ended.wait(10)
    assert seen == list(range(500)) and ends == [500]


def test_a_stalled_producer_holds_no_thread():
    with ThreadPoolExecutor(max_workers=1) as pool:
        stepped = threading.Event()
        drain: Drain[str] = Drain(pool, lambda item: stepped.set(), lambda: None)
        drain.put("first")
        assert stepped.wait(10)
        # the drain's task ended once nothing waited: the one worker is free for other work
        assert pool.submit(lambda: "free").result(timeout=10) == "free"
