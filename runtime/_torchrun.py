"""``torchrun ... -m autograd_lint run train.py``: every rank runs, local rank 0 reports for all.

Each worker is its own ``autograd-lint run``. Ranks other than local rank 0 write their findings
into a folder of the temp dir named after the torchrun agent (its run id, its pid, the restart) and
print nothing; local rank 0 waits for them (``AUTOGRAD_LINT_RANK_TIMEOUT`` seconds, 120 by
default; a SIGTERM from the agent, sent when another rank fails, ends the wait), then reports
them with its own. The temp dir is per machine, so each node's local rank 0 reports its node.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence

from . import _gather

DEFAULT_TIMEOUT_S = 120.0


def is_worker() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ and os.environ.get("LOCAL_RANK", "").isdigit()


def own_label() -> str | None:
    return f"rank {os.environ.get('RANK', os.environ['LOCAL_RANK'])}" if is_worker() else None


def gather(groups: Sequence[_gather.Labelled]) -> list[_gather.Labelled] | None:
    """On local rank 0: ``groups`` and the other local ranks'. Elsewhere: written for it; None."""
    folder = _shared_folder()
    os.makedirs(folder, exist_ok=True)
    if int(os.environ["LOCAL_RANK"]) != 0:
        _gather.write_findings(folder, groups)
        return None
    others = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) - 1
    arrived = _wait_for(folder, others)
    gathered = [*groups, *_gather.read_findings(folder)]
    shutil.rmtree(folder, ignore_errors=True)
    if arrived < others:
        print(f"autograd-lint: warning: {others - arrived} of {others} other ranks sent no findings", file=sys.stderr)
    return gathered


def _shared_folder() -> str:
    agent = "-".join(
        [os.environ["TORCHELASTIC_RUN_ID"], str(os.getppid()), os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")]
    )
    return os.path.join(tempfile.gettempdir(), f"autograd-lint-torchrun-{agent}")


class _Stopped(Exception):
    pass


def _wait_for(folder: str, count: int) -> int:
    """How many rank files came before the timeout or the agent's SIGTERM."""
    deadline = time.monotonic() + float(os.environ.get("AUTOGRAD_LINT_RANK_TIMEOUT", DEFAULT_TIMEOUT_S))

    def stop(*_: object) -> None:
        raise _Stopped

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: the wait just cannot be cut short
        previous = None
    try:
        while _gather.count_files(folder) < count and time.monotonic() < deadline:
            time.sleep(0.05)
    except _Stopped:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return _gather.count_files(folder)
