"""A device's count-to-milliseconds calibration: fitted on the variants measured on it, judged by leave-one-out.

For a device with measurements of at least three variants, milliseconds are fitted on the instructions per invoke
of the same variants counted on the ISA profile that matches the device's chip. The forms tried, simplest first:

- ``scale``: ms = a * G, G the count in billions (one number per device, the form that held on the published NEON
  phone rows: Pixel 9 Pro and Galaxy S25 Ultra);
- ``scale+intercept``: ms = a * G + b (from four measurements);
- ``families``: ms = a_sme * G_sme + a_rest * G_rest, the instructions of SME kernels (a chip with a matrix engine
  runs them at another rate) and the rest (from four measurements, two of which ran SME kernels).

Each is fitted by least squares on relative error (a 10 % miss on a 1 ms variant weighs what it weighs on a 50 ms
one), and judged by its leave-one-out errors: each measurement predicted by the fit of the others. A form with
more terms is kept only where its mean leave-one-out error beats the simpler one's by at least a tenth.

The prediction interval is that of a new measurement on the log scale: s, the leave-one-out log errors' spread
about zero (the square root of their sum of squares over n - 1), times Student's t at 97.5 % with n - 1 degrees
of freedom, times sqrt(1 + 1/n). With three measurements it
is wide (t = 4.30): it says how little three measurements show, and narrows as more come in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from liteship.bench.record import Instructions

MIN_POINTS = 3
LEVEL = 0.95
BETTER_BY = 0.9  # a form with more terms must bring its mean leave-one-out error under this share of the simpler's
INTERVAL_METHOD = "Student t (n - 1 degrees of freedom) on the leave-one-out log errors, times sqrt(1 + 1/n)"


@dataclass(frozen=True)
class Point:
    """One variant measured on the device: its median milliseconds and its count on the matching ISA profile."""

    variant: str
    ms: float
    instructions: Instructions


def sme_share(instr: Instructions) -> int:
    """Instructions per invoke of the SME kernels among the counted kernels (KleidiAI's and XNNPACK's SME2
    micro-kernels name ``sme`` in their names); 0 on a profile without SME."""
    return sum(int(k.get("per_invoke") or 0) for k in (instr.by_kernel or ())
               if isinstance(k, dict) and "sme" in str(k.get("kernel", "")).casefold())


def _features(form: str, instr: Instructions) -> list[float]:
    g = instr.per_invoke / 1e9
    if form == "scale":
        return [g]
    if form == "scale+intercept":
        return [g, 1.0]
    sme = sme_share(instr) / 1e9
    return [sme, g - sme]


TERMS = {"scale": ("ms_per_G",), "scale+intercept": ("ms_per_G", "ms"), "families": ("ms_per_G_sme", "ms_per_G_rest")}


def _solve(form: str, points: Sequence[Point]) -> list[float]:
    """Least squares on relative error: each row divided by its measured milliseconds."""
    import numpy as np

    a = np.array([[x / p.ms for x in _features(form, p.instructions)] for p in points])
    w, *_ = np.linalg.lstsq(a, np.ones(len(points)), rcond=None)
    return [float(x) for x in w]


def _predict(form: str, weights: Sequence[float], instr: Instructions) -> float:
    return sum(w * x for w, x in zip(weights, _features(form, instr)))


def _loo(form: str, points: Sequence[Point]) -> dict[str, float] | None:
    """Each point's signed relative error, (predicted - measured) / measured, from the fit of the others; None when
    a fold predicts zero or less (the form does not hold)."""
    errors = {}
    for i, p in enumerate(points):
        rest = [q for j, q in enumerate(points) if j != i]
        pred = _predict(form, _solve(form, rest), p.instructions)
        if not pred > 0 or not math.isfinite(pred):
            return None
        errors[p.variant] = (pred - p.ms) / p.ms
    return errors


def _candidates(points: Sequence[Point]) -> list[str]:
    forms = ["scale"]
    if len(points) >= 4:
        forms.append("scale+intercept")
        if sum(sme_share(p.instructions) > 0 for p in points) >= 2:
            forms.append("families")
    return forms


@dataclass(frozen=True)
class Calibration:
    """A fitted form, its terms, and how well it predicted each measurement it rests on when left out."""

    form: str
    terms: dict[str, float]
    n: int
    loo_errors: dict[str, float]  # variant -> signed relative error, (predicted - measured) / measured
    factor: float  # the prediction interval: [ms / factor, ms * factor]
    considered: dict[str, float] = field(default_factory=dict)  # form -> mean |leave-one-out error| (None: failed)

    def predict(self, instr: Instructions) -> tuple[float, float, float]:
        """(milliseconds, interval low, interval high) for a variant counted ``instr``."""
        ms = _predict(self.form, list(self.terms.values()), instr)
        return ms, ms / self.factor, ms * self.factor

    def _abs(self) -> list[float]:
        return sorted(abs(e) for e in self.loo_errors.values())

    @property
    def loo_mean(self) -> float:
        return sum(self._abs()) / len(self.loo_errors)

    @property
    def loo_median(self) -> float:
        import statistics

        return statistics.median(self._abs())

    @property
    def loo_worst(self) -> float:
        return self._abs()[-1]

    def formula(self) -> str:
        """"ms = 87.3 x G instructions" and its kin, as records and messages say it."""
        t = self.terms
        if self.form == "scale":
            return f"ms = {t['ms_per_G']:.4g} x G instructions"
        if self.form == "scale+intercept":
            return f"ms = {t['ms_per_G']:.4g} x G instructions {'+' if t['ms'] >= 0 else '-'} {abs(t['ms']):.3g}"
        return f"ms = {t['ms_per_G_sme']:.4g} x G in SME kernels + {t['ms_per_G_rest']:.4g} x G elsewhere"

    def to_dict(self) -> dict:
        return {"form": self.form, "formula": self.formula(), "terms": dict(self.terms), "measurements": self.n,
                "loo": {"errors": dict(self.loo_errors), "median": self.loo_median, "mean": self.loo_mean,
                        "worst": self.loo_worst},
                "interval": {"level": LEVEL, "method": INTERVAL_METHOD, "factor": self.factor},
                "considered": dict(self.considered)}


def _interval_factor(points: Sequence[Point], errors: dict[str, float]) -> float:
    from scipy.stats import t as student_t

    n = len(points)
    logs = [math.log(1.0 / (1.0 + errors[p.variant])) for p in points]  # log(measured / predicted)
    s = math.sqrt(sum(d * d for d in logs) / (n - 1))
    return math.exp(float(student_t.ppf(0.5 + LEVEL / 2, n - 1)) * s * math.sqrt(1 + 1 / n))


def fit(points: Sequence[Point]) -> Calibration:
    """The calibration of ``points`` (ValueError, in words, for fewer than three or a value that is not positive)."""
    points = list(points)
    if len(points) < MIN_POINTS:
        raise ValueError(f"a calibration needs measurements of at least {MIN_POINTS} variants; there "
                         f"{'is' if len(points) == 1 else 'are'} {len(points)}")
    if len({p.variant for p in points}) != len(points):
        raise ValueError("a variant is measured twice among the points")
    bad = [p.variant for p in points if not (p.ms > 0 and math.isfinite(p.ms) and p.instructions.per_invoke > 0)]
    if bad:
        raise ValueError(f"milliseconds and counts must be positive; they are not for {', '.join(bad)}")
    considered: dict[str, float | None] = {}
    best = None
    for form in _candidates(points):
        errors = _loo(form, points)
        considered[form] = None if errors is None else sum(map(abs, errors.values())) / len(errors)
        if errors is not None and (best is None or considered[form] < BETTER_BY * considered[best[0]]):
            best = (form, errors)
    form, errors = best  # "scale" never predicts zero from positive counts, so one form always holds
    terms = dict(zip(TERMS[form], _solve(form, points)))
    return Calibration(form, terms, len(points), errors, _interval_factor(points, errors), considered)
