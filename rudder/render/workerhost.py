"""`python -m rudder.render.workerhost`: the single-threaded helper that forks bounded render children for
a threaded caller (the controller); see `rudder.render.isolation`."""

from __future__ import annotations

import os
import signal
import sys

from rudder.render.isolation import serve

if __name__ == "__main__":
    # Replies go to a private copy of stdout; fd 1 becomes stderr, so a stray print cannot corrupt them.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # Its lifetime is its parent's: it ends when its requests pipe closes, not on a Ctrl-C to the group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.stdin.buffer, replies)
