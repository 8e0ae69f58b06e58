"""Wake-ups of the event-driven reconciles (rudder.kopfkit): a wake from any thread reaches the object's
daemon, many wakes before it runs coalesce into one pass, a wake during a pass is kept for the next one,
an object no daemon drives ignores wakes, and the next pass without a wake is the requeue-after capped by the
safety net."""

from __future__ import annotations

import asyncio
import threading

from rudder.kopfkit import Wakeups, next_delay


def test_wakes_from_other_threads_coalesce_and_are_never_lost() -> None:
    async def scenario() -> list[str]:
        wakeups = Wakeups()
        signal = wakeups._attach("ns", "a", asyncio.get_running_loop())
        seen = []
        threads = [threading.Thread(target=wakeups.wake, args=("ns", "a")) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        await signal.wait(30)  # returns at once: woken
        seen.append("woken")
        signal.consume()  # a pass starts
        await signal.wait(0)  # nothing pending after the coalesced wakes
        seen.append("pending" if signal._event.is_set() else "idle")
        assert wakeups.wake("ns", "a")  # woken during the pass
        await asyncio.sleep(0)  # the loop delivers it
        seen.append("pending" if signal._event.is_set() else "idle")
        wakeups._detach("ns", "a", signal)
        assert not wakeups.wake("ns", "a")
        assert wakeups.driven() == 0
        return seen

    assert asyncio.run(scenario()) == ["woken", "idle", "pending"]


def test_the_next_pass_is_the_requeue_after_capped_by_the_safety_net() -> None:
    assert next_delay(None, 300) == 300
    assert next_delay(12.5, 300) == 12.5
    assert next_delay(1000, 300) == 300
    assert next_delay(-3, 300) == 0
