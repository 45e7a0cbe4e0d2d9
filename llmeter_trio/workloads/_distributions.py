"""Distributions that token lengths and think times are drawn from, seeded by the run.

Each is a small frozen attrs class with `sample` (a float), `sample_int` (a
whole length of at least 1), `mean`, `cdf` (to test draws against) and
`to_config`; `parse_distribution` reads the command line's short form.
"""

from __future__ import annotations

import bisect
import math
import os
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from ..storage import resolve

__all__ = [
    "Distribution",
    "Empirical",
    "Fixed",
    "LogNormal",
    "Normal",
    "Uniform",
    "distribution_from_config",
    "parse_distribution",
]


def _finite(name: str) -> Any:
    def check(_instance: Any, _attribute: Any, value: float) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{name} must be a finite number, not {value!r}")
        if value < 0:
            raise ValueError(f"{name} must be 0 or more, not {value!r}")

    return check


class Distribution:
    """A distribution of non-negative values (token lengths, seconds)."""

    kind: ClassVar[str]

    def sample(self, rng: random.Random) -> float:
        """One draw (never below 0)."""
        raise NotImplementedError

    def sample_int(self, rng: random.Random) -> int:
        """One draw rounded to a whole length of at least 1 (a token count)."""
        return max(1, round(self.sample(rng)))

    @property
    def mean(self) -> float:
        raise NotImplementedError

    def cdf(self, x: float) -> float:
        """The probability that a draw is at most `x`."""
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:
        """The saved form; `distribution_from_config` reads it back."""
        return {"kind": self.kind, **attrs.asdict(self)}  # type: ignore[arg-type]


@attrs.frozen
class Fixed(Distribution):
    """Always `value`."""

    kind: ClassVar[str] = "fixed"
    value: float = attrs.field(validator=_finite("a fixed value"))

    def sample(self, rng: random.Random) -> float:
        return float(self.value)

    @property
    def mean(self) -> float:
        return float(self.value)

    def cdf(self, x: float) -> float:
        return 1.0 if x >= self.value else 0.0

    def __str__(self) -> str:
        return f"{self.value:g}"


@attrs.frozen
class Uniform(Distribution):
    """Any value from `low` to `high`, all equally likely."""

    kind: ClassVar[str] = "uniform"
    low: float = attrs.field(validator=_finite("uniform's low end"))
    high: float = attrs.field(validator=_finite("uniform's high end"))

    def __attrs_post_init__(self) -> None:
        if self.high < self.low:
            raise ValueError(
                f"uniform's high end ({self.high:g}) is below its low end ({self.low:g})"
            )

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def cdf(self, x: float) -> float:
        if self.high == self.low:
            return 1.0 if x >= self.low else 0.0
        return min(1.0, max(0.0, (x - self.low) / (self.high - self.low)))

    def __str__(self) -> str:
        return f"uniform:{self.low:g},{self.high:g}"


@attrs.frozen
class Normal(Distribution):
    """A bell curve around `mean` with standard deviation `std`; draws below 0 count as 0."""

    kind: ClassVar[str] = "normal"
    mu: float = attrs.field(validator=_finite("normal's mean"))
    std: float = attrs.field(validator=_finite("normal's standard deviation"))

    def sample(self, rng: random.Random) -> float:
        return max(0.0, rng.gauss(self.mu, self.std))

    @property
    def mean(self) -> float:
        return float(self.mu)

    def cdf(self, x: float) -> float:
        if x < 0:
            return 0.0
        if self.std == 0:
            return 1.0 if x >= self.mu else 0.0
        return 0.5 * (1 + math.erf((x - self.mu) / (self.std * math.sqrt(2))))

    def __str__(self) -> str:
        return f"normal:{self.mu:g},{self.std:g}"


@attrs.frozen
class LogNormal(Distribution):
    """A long right tail: mean `mu`, `sigma` the standard deviation of the log."""

    kind: ClassVar[str] = "lognormal"
    mu: float = attrs.field(validator=_finite("lognormal's mean"))
    sigma: float = attrs.field(validator=_finite("lognormal's sigma"))

    @property
    def _log_mean(self) -> float:
        return math.log(self.mu) - self.sigma**2 / 2

    def sample(self, rng: random.Random) -> float:
        if self.mu == 0:
            return 0.0
        return rng.lognormvariate(self._log_mean, self.sigma)

    @property
    def mean(self) -> float:
        return float(self.mu)

    def cdf(self, x: float) -> float:
        if x <= 0 or self.mu == 0:
            return 1.0 if self.mu == 0 and x >= 0 else 0.0
        if self.sigma == 0:
            return 1.0 if x >= self.mu else 0.0
        z = (math.log(x) - self._log_mean) / (self.sigma * math.sqrt(2))
        return 0.5 * (1 + math.erf(z))

    def __str__(self) -> str:
        return f"lognormal:{self.mu:g},{self.sigma:g}"


def _floats(values: Iterable[float]) -> tuple[float, ...]:
    return tuple(float(value) for value in values)


def _weights(instance: Empirical, _attribute: Any, value: tuple[float, ...]) -> None:
    if len(value) != len(instance.values):
        raise ValueError(f"{len(instance.values)} values but {len(value)} weights")
    if any(not math.isfinite(w) or w < 0 for w in value) or not sum(value) > 0:
        raise ValueError("weights must be 0 or more, and not all 0")


@attrs.frozen
class Empirical(Distribution):
    """What was observed: each of `values` drawn in proportion to its weight (a histogram).

    `Empirical.from_file(path)` reads one value per line, or ``value,count`` lines.
    """

    kind: ClassVar[str] = "empirical"
    values: tuple[float, ...] = attrs.field(converter=_floats)
    weights: tuple[float, ...] = attrs.field(converter=_floats, validator=_weights)
    source: str | None = attrs.field(default=None, eq=False)  # the file it came from

    def __attrs_post_init__(self) -> None:
        if not self.values:
            raise ValueError("an empirical distribution needs at least one value")
        for value in self.values:
            _finite("an empirical value")(self, None, value)

    @classmethod
    def from_values(cls, values: Sequence[float], source: str | None = None) -> Empirical:
        """Every observed value once (repeats add weight)."""
        counts: dict[float, float] = {}
        for value in values:
            counts[float(value)] = counts.get(float(value), 0.0) + 1.0
        ordered = sorted(counts)
        return cls(ordered, [counts[v] for v in ordered], source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Empirical:
        """A file (any fsspec URL): one value per line, or ``value,count`` lines; ``#`` comments."""
        url = os.fspath(path)
        fs, where = resolve(url)
        if not fs.isfile(where):
            raise FileNotFoundError(f"no histogram file at {url}")
        with fs.open(where, "rt", encoding="utf-8") as f:
            lines = f.read().splitlines()
        counts: dict[float, float] = {}
        for number, line in enumerate(lines, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = [p.strip() for p in text.replace("\t", ",").split(",")]
            try:
                value = float(parts[0])
                count = float(parts[1]) if len(parts) > 1 and parts[1] else 1.0
            except ValueError:
                if not counts:  # a header line
                    continue
                raise ValueError(
                    f"{url} line {number}: not 'value' or 'value,count': {line!r}"
                ) from None
            counts[value] = counts.get(value, 0.0) + count
        if not counts:
            raise ValueError(f"{url} holds no values")
        ordered = sorted(counts)
        return cls(ordered, [counts[v] for v in ordered], url)

    @property
    def _cumulative(self) -> list[float]:
        total, running = sum(self.weights), 0.0
        cumulative = []
        for weight in self.weights:
            running += weight
            cumulative.append(running / total)
        return cumulative

    def sample(self, rng: random.Random) -> float:
        return rng.choices(self.values, weights=self.weights)[0]

    @property
    def mean(self) -> float:
        return sum(v * w for v, w in zip(self.values, self.weights, strict=True)) / sum(
            self.weights
        )

    def cdf(self, x: float) -> float:
        index = bisect.bisect_right(self.values, x)
        return 0.0 if index == 0 else self._cumulative[index - 1]

    def to_config(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "values": list(self.values),
            "weights": list(self.weights),
            "source": self.source,
        }

    def __str__(self) -> str:
        return (
            f"empirical:{self.source}" if self.source else f"empirical({len(self.values)} values)"
        )


_KINDS: dict[str, type[Distribution]] = {
    cls.kind: cls for cls in (Fixed, Uniform, Normal, LogNormal, Empirical)
}
_SYNTAX = (
    "use a number (500), uniform:LOW,HIGH, normal:MEAN,STD, lognormal:MEAN,SIGMA or empirical:FILE"
)


def parse_distribution(text: str) -> Distribution:
    """The distribution a short form names: ``500``, ``fixed:500``, ``uniform:100,900``,
    ``normal:500,50``, ``lognormal:500,0.5`` (mean, sigma of the log), ``empirical:FILE``."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"no distribution in {text!r}; {_SYNTAX}")
    kind, _, rest = text.strip().partition(":")
    kind = kind.strip().lower()
    if not rest:
        kind, rest = "fixed", kind
    if kind == "empirical":
        return Empirical.from_file(rest.strip())
    cls = _KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown distribution {kind!r} in {text!r}; {_SYNTAX}")
    try:
        numbers = [float(part) for part in rest.split(",")]
    except ValueError:
        raise ValueError(f"{text!r} holds something that is not a number; {_SYNTAX}") from None
    wanted = 1 if cls is Fixed else 2
    if len(numbers) != wanted:
        raise ValueError(f"{kind} takes {wanted} number(s), {text!r} has {len(numbers)}; {_SYNTAX}")
    return cls(*numbers)


def distribution_from_config(
    config: Distribution | Mapping[str, Any] | float | int | str,
) -> Distribution:
    """A distribution from its saved form (or a plain number, the short form, or itself)."""
    if isinstance(config, Distribution):
        return config
    if isinstance(config, bool):
        raise ValueError(f"not a distribution: {config!r}")
    if isinstance(config, int | float):
        return Fixed(config)
    if isinstance(config, str):
        return parse_distribution(config)
    fields = dict(config)
    kind = fields.pop("kind", None)
    cls = _KINDS.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown distribution kind {kind!r}; one of {', '.join(_KINDS)}")
    return cls(**fields)
