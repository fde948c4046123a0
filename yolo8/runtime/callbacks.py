"""User hooks into training and validation: named events, each a list of functions called in order."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

EVENTS = (
    "on_pretrain_routine_start",
    "on_train_start",
    "on_train_epoch_start",
    "on_train_batch_end",
    "on_train_epoch_end",
    "on_fit_epoch_end",
    "on_model_save",
    "on_train_end",
    "on_val_start",
    "on_val_end",
)


class Callbacks:
    """A registry of event → functions; each function receives the object that fired the event."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Callable[[Any], None]]] = defaultdict(list)

    def add(self, event: str, handler: Callable[[Any], None]) -> None:
        if event not in EVENTS:
            raise ValueError(f"'{event}' is not a callback event; valid events: {', '.join(EVENTS)}.")
        self._handlers[event].append(handler)

    def copy(self) -> "Callbacks":
        """An independent registry with the same handlers (a run can add its own without touching the user's)."""
        duplicate = Callbacks()
        for event, handlers in self._handlers.items():
            duplicate._handlers[event] = list(handlers)
        return duplicate

    def run(self, event: str, subject: Any) -> None:
        for handler in self._handlers.get(event, ()):
            handler(subject)
