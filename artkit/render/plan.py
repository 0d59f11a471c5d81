"""The plan: every image of a series, numbered, computed on demand.

A job's number is its position in the sweep: in ``product`` order the last axis
varies fastest (``spec`` puts the model outermost and ``seed`` innermost so a
model is loaded once and seeds batch together); in ``zip`` order job ``i`` takes
value ``i`` of every axis. Jobs are computed from their number by mixed-radix
arithmetic, so a plan of a million images costs no memory and sharding is a
stride: shard ``I/N`` renders jobs ``I, I+N, I+2N, ...`` (balanced, no duplicates,
and the union of all shards is the whole plan).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from artkit.errors import UsageError
from artkit.render.spec import SeriesSpec
from artkit.render.template import fill


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/4"`` -> the second of four shards (1-based on the command line)."""
        left, sep, right = text.partition("/")
        try:
            i, n = int(left), int(right)
        except ValueError:
            raise UsageError(f"--shard {text!r}: use I/N, e.g. 1/4 for the first of four") from None
        if not sep or n < 1 or not 1 <= i <= n:
            raise UsageError(f"--shard {text!r}: use I/N with 1 <= I <= N")
        return cls(i - 1, n)

    @property
    def whole(self) -> bool:
        return self.count == 1

    def __str__(self) -> str:
        return f"{self.index + 1}/{self.count}"


@dataclass(frozen=True)
class Job:
    index: int
    params: dict[str, Any]  # axis name -> value (files as resolved paths)
    path: str  # relative to the series' output folder


class Plan:
    """All jobs of ``spec`` (or one shard of them), in a fixed order."""

    def __init__(self, spec: SeriesSpec, shard: Shard | None = None):
        self.spec = spec
        self.shard = shard or Shard()
        self.axes = spec.axes
        lengths = [len(a.values) for a in self.axes]
        self.total = math.prod(lengths) if spec.combine == "product" else max(lengths)

    def __len__(self) -> int:
        """Jobs in this shard."""
        i, n = self.shard.index, self.shard.count
        return max(0, (self.total - i + n - 1) // n)

    def params(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.total:
            raise IndexError(index)
        params = {}
        if self.spec.combine == "zip":
            for axis in self.axes:
                values = axis.values
                params[axis.name] = values[index] if len(values) > 1 else values[0]
            return params
        rest = index
        for axis in reversed(self.axes):
            rest, k = divmod(rest, len(axis.values))
            params[axis.name] = axis.values[k]
        return {a.name: params[a.name] for a in self.axes}

    def fields(self, index: int, params: dict[str, Any]) -> dict[str, Any]:
        """Template fields of one job: labels for files, values for everything else."""
        fields = {a.name: a.label(params[a.name]) for a in self.axes}
        return {**fields, "series": self.spec.series, "index": index}

    def job(self, index: int) -> Job:
        params = self.params(index)
        path = fill(self.spec.template, self.fields(index, params), key="template")
        return Job(index, params, path)

    def __iter__(self) -> Iterator[Job]:
        for index in range(self.shard.index, self.total, self.shard.count):
            yield self.job(index)

    def index_of(self, params: dict[str, Any]) -> int | None:
        """The number of the job with these axis values (None when it is not in the plan)."""
        positions = []
        for axis in self.axes:
            value = params[axis.name]
            try:
                positions.append(_position(axis.values, value))
            except ValueError:
                return None
        if self.spec.combine == "zip":
            varying = {p for a, p in zip(self.axes, positions, strict=True) if len(a.values) > 1}
            return varying.pop() if len(varying) == 1 else (0 if not varying else None)
        index = 0
        for axis, pos in zip(self.axes, positions, strict=True):
            index = index * len(axis.values) + pos
        return index

    def check_unique_paths(self) -> None:
        """Two jobs with one output name would overwrite each other: refuse before rendering."""
        seen: dict[int, int] = {}
        for index in range(self.total):
            job = self.job(index)
            key = hash(job.path)
            if key in seen and self.job(seen[key]).path == job.path:
                raise UsageError(
                    f"template: jobs {seen[key]} and {index} are both named {job.path!r}; "
                    "make the template tell them apart (more fields or digits)"
                )
            seen[key] = index

    def describe(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "series": spec.series,
            "task": spec.task,
            "combine": spec.combine,
            "axes": {a.name: len(a.values) for a in self.axes},
            "total": self.total,
            "shard": str(self.shard),
            "in_shard": len(self),
            "out": str(spec.out),
            "template": spec.template,
            "post": list(spec.post),
            "sheets": [s.out for s in spec.sheets],
            "walks": [w.out for w in spec.walks],
        }


def _position(values: Any, value: Any) -> int:
    from artkit.api.seeds import SeedRanges

    if isinstance(values, SeedRanges):
        offset = 0
        for lo, hi in values.ranges:
            if isinstance(value, int) and lo <= value <= hi:
                return offset + value - lo
            offset += hi - lo + 1
        raise ValueError(value)
    return list(values).index(value)
