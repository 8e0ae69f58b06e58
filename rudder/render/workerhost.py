"""`python -m rudder.render.workerhost`: the single-threaded helper that forks bounded render children for
a threaded caller (the controller); see `rudder.render.isolation`."""

from __future__ import annotations

import os
import sys

from rudder.render.isolation import serve

if __name__ == "__main__":
    # Replies go to a private copy of stdout; fd 1 becomes stderr, so a stray print cannot corrupt them.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, replies)
