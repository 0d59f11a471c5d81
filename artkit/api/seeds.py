"""Seed ranges: ``"0-99,120"``, an int or a list of them -> a lazy sequence of seeds.

One parser for every place that takes seeds (``artkit sample --seeds``, ``interpolate``,
series specs, :meth:`artkit.api.model.Model.sample`). A seed is an integer in
``[0, 2**63 - 1]``; anything else is a one-line :class:`~artkit.errors.UsageError`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import Any

from artkit.errors import UsageError

#: The largest seed (torch generators take 64-bit signed seeds).
MAX_SEED = 2**63 - 1


class SeedRanges(Sequence[int]):
    """``"0-999,2000"`` as a lazy sequence: O(number of ranges) memory for any count."""

    def __init__(self, ranges: list[tuple[int, int]]):
        self.ranges = ranges
        self._starts, total = [], 0
        for lo, hi in ranges:
            self._starts.append(total)
            total += hi - lo + 1
        self._len = total

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        k = bisect.bisect_right(self._starts, index) - 1
        return self.ranges[k][0] + index - self._starts[k]

    def __iter__(self) -> Iterator[int]:
        for lo, hi in self.ranges:
            yield from range(lo, hi + 1)

    def __repr__(self) -> str:
        return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in self.ranges)


def parse_seed_ranges(value: Any, *, key: str = "--seeds") -> SeedRanges:
    """An int, a list of ints / range strings, or ``"0-99,120"`` -> :class:`SeedRanges`.

    ``key`` names the setting in error messages (``--seeds``, ``sweep.seed``).
    """
    items = value if isinstance(value, list | tuple) else [value]
    ranges: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, bool):
            raise UsageError(f"{key}: {item!r} is not a seed")
        if isinstance(item, int):
            parts = [str(item)]
        elif isinstance(item, str):
            parts = [p.strip() for p in item.split(",") if p.strip()]
        else:
            raise UsageError(f"{key}: {item!r} is not a seed or a range like 0-99")
        for part in parts:
            lo, sep, hi = part.partition("-")
            try:
                a, b = int(lo), int(hi) if sep else int(lo)
            except ValueError:
                raise UsageError(f"{key}: {part!r} is not a seed or a range like 0-99") from None
            if a < 0 or b < a:
                raise UsageError(f"{key}: {part!r} is not an ascending range of non-negative seeds")
            if b > MAX_SEED:
                raise UsageError(f"{key}: {part!r} is too large for a seed (at most 2**63-1)")
            ranges.append((a, b))
    if not ranges:
        raise UsageError(f"{key} is empty; give seeds like 0-99,120")
    return SeedRanges(ranges)


def parse_seeds(text: str, *, key: str = "--seeds") -> Iterator[int]:
    """``0-99,120,200-202`` -> 0..99, 120, 200, 201, 202 (checked now, produced lazily)."""
    return iter(parse_seed_ranges(text, key=key))


def seed_count(text: str, *, key: str = "--seeds") -> int:
    """How many seeds ``text`` names (without producing them)."""
    return len(parse_seed_ranges(text, key=key))


def check_seed_span(start: int, count: int, *, key: str = "--seed") -> range:
    """``count`` consecutive seeds from ``start``, all within ``[0, 2**63 - 1]``."""
    if start < 0 or start + count - 1 > MAX_SEED:
        raise UsageError(f"{key} {start}: seeds run from 0 to 2**63-1")
    return range(start, start + count)
