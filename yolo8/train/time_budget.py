"""Training time: the seconds a run has spent (over all sessions of a resumed run) and, for ``time=``
(hours), how many epochs fit the budget."""

from __future__ import annotations

import math
import time


def now() -> float:
    """The clock training time is measured with (monotonic seconds); tests replace it."""
    return time.monotonic()


class TrainingClock:
    """Seconds of training: this session's, and the run's (``seconds_before`` from earlier sessions)."""

    def __init__(self, seconds_before: float = 0.0):
        self.seconds_before = seconds_before
        self.session_start = now()

    @property
    def session_seconds(self) -> float:
        return now() - self.session_start

    @property
    def seconds(self) -> float:
        return self.seconds_before + self.session_seconds


def epochs_within(budget_seconds: float, spent_seconds: float, epochs_done: int, seconds_per_epoch: float) -> int:
    """Total epochs a time budget allows: those done, plus as many more as fit whole in the time left.

    Equal to ``epochs_done`` (stop now) once the next epoch would overrun the budget.
    """
    remaining = max(budget_seconds - spent_seconds, 0.0)
    return epochs_done + math.floor(remaining / max(seconds_per_epoch, 1e-9))  # a coarse clock may read 0 s
