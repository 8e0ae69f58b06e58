"""Progress on long waits: on a terminal one line redrawn in place with a spinner and the elapsed time; anywhere
else (CI logs) a plain timestamped line only when the state changes. The poll loop stops at the first final
state or at the deadline, never sleeping past it."""

from __future__ import annotations

import io

from rudder.cli.progress import Finished, Progress, Waiting, poll


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_redrawn_line_and_a_clean_line_at_the_end() -> None:
    ticks = iter([0.0, 1.0, 65.0])
    stream = Terminal()
    progress = Progress(stream, clock=lambda: next(ticks))
    assert progress.interactive
    progress.update("Progressing at revision 2")
    progress.update("Progressing at revision 2")
    progress.update("Ready")
    progress.done()
    text = stream.getvalue()
    assert "\n" not in text
    frames = text.split("\r")[1:]
    assert frames[0] == "/ Progressing at revision 2 [0s]"
    assert frames[1] == "- Progressing at revision 2 [1s]"
    assert frames[2] == "\\ Ready [1m5s]".ljust(len(frames[1]))  # padded over the longer line before
    assert frames[-1].strip() == ""  # done() wipes the line


def test_a_log_gets_a_line_per_change_only() -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    assert not progress.interactive
    for text in ("Pending", "Pending", "Progressing", "Progressing", "Ready"):
        progress.update(text)
    lines = stream.getvalue().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["Pending", "Progressing", "Ready"]
    assert all(len(line.split(" ", 1)[0]) == 8 for line in lines)  # HH:MM:SS
    quiet = io.StringIO()
    Progress(quiet, quiet=True).update("x")
    assert quiet.getvalue() == ""


def test_poll_returns_the_first_final_state_or_the_last_waiting_one_at_the_deadline() -> None:
    now = [0.0]
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds

    states = iter([Waiting("a"), Waiting("b"), Finished(7)])
    result = poll(lambda: next(states), timeout=60, interval=2, progress=Progress(io.StringIO()),
                  clock=lambda: now[0], sleep=sleep)
    assert result == Finished(7) and naps == [2, 2]
    naps.clear()
    now[0] = 0.0
    result = poll(lambda: Waiting("still"), timeout=5, interval=2, progress=Progress(io.StringIO()),
                  clock=lambda: now[0], sleep=sleep)
    assert result == Waiting("still") and naps == [2, 2, 1]
