"""A clock and a sleep that tests move by hand (limiters, adaptive concurrency)."""

from __future__ import annotations


class FakeTime:
    def __init__(self, *, advance_on_sleep: bool = False) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._advance = advance_on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self._advance:
            self.now += seconds
