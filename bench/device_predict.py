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

Counts within 1 % of each other (:data:`SAME_COUNT`: the int8, prune_int8 and auto_int8 variants of one model)
are one point of evidence about how milliseconds follow the count, however many variants share it: a fit needs
three DISTINCT counts (:func:`evidence`), a form with more terms four, and each measurement is left out together
with the others at its count (leave one count out), so a measurement is never predicted by its own twin. Where
every count differs this is leave-one-out exactly.

The prediction interval is that of a new measurement on the log scale: s, the leave-one-out log errors' spread
about zero (each count's mean square, summed over the k distinct counts, over k - 1), times Student's t at 97.5 %
with k - 1 degrees of freedom, times sqrt(1 + 1/k). With three counts it is wide (t = 4.30): it says how little
three measurements show, and narrows as more come in.

A prediction whose count lies below the smallest or above the largest count measured by more than
:data:`EXTRAPOLATION` (1 %: within it, a count is that measurement's own evidence) is extrapolated, and is
widened, not refused (:meth:`Calibration.predict_at`). Inside the counts measured, the leave-one-out folds measured
how the form predicts (the end counts' folds are themselves short extrapolations); beyond them two readings of the
same measurements part: the form's trend carried on (an intercept's line reaches 0 ms at a positive count, and
the interval of a fit with next to no scatter stays next to nothing wide there), or the time per instruction of
the nearest measured count held (milliseconds in proportion to the count from it, the form that held across
architectures on the published NEON rows). Nothing measured says which, so the interval is widened to hold both,
each with the fit's factor, and the record says "extrapolated" with the ratio. Refusing would leave the variant no
number where the proportional reading is the best one known, and a refused variant fails its budget unjudged
anyway; widened, the gate judges the upper end of both readings. For the scale form the two readings differ by
the nearest count's own residual only: the word "extrapolated" then says what no interval can, that no
measurement on the device is near that count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from liteship.bench.record import Instructions

MIN_POINTS = 3  # distinct counts a fit needs (a form with more terms: four)
SAME_COUNT = 0.01  # counts within 1 % of each other are one point of evidence about the slope
EXTRAPOLATION = 1 + SAME_COUNT  # a count beyond the measured ones by more than this factor is extrapolated
LEVEL = 0.95
BETTER_BY = 0.9  # a form with more terms must bring its mean leave-one-out error under this share of the simpler's
INTERVAL_METHOD = ("Student t (k - 1 degrees of freedom, k distinct counts) on the leave-one-count-out log errors, "
                   "times sqrt(1 + 1/k)")


@dataclass(frozen=True)
class Point:
    """One variant measured on the device: its median milliseconds and its count on the matching ISA profile."""

    variant: str
    ms: float
    instructions: Instructions


def evidence(points: Sequence[Point], form: str = "scale") -> list[tuple[Point, ...]]:
    """The points grouped into points of evidence for ``form``, smallest count first: a point joins a group when
    each of its features (the count; for ``families``, the count in SME kernels and elsewhere) is within
    :data:`SAME_COUNT` of the group's first count from that one's (one point of evidence, however many share
    it)."""
    kind = "families" if form == "families" else "scale"  # an intercept's features are the count's too
    groups: list[list[Point]] = []
    for p in sorted(points, key=lambda q: (q.instructions.per_invoke, q.variant)):
        mine = _features(kind, p.instructions)
        group = next((g for g in groups if all(abs(a - b) <= SAME_COUNT * g[0].instructions.per_invoke / 1e9
                                                 for a, b in zip(mine, _features(kind, g[0].instructions)))), None)
        if group is None:
            groups.append([p])
        else:
            group.append(p)
    return [tuple(g) for g in groups]


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
    """Each point's signed relative error, (predicted - measured) / measured, from the fit of the points at other
    counts (:func:`evidence`: leave one count out); None when a fold predicts zero or less (the form does not
    hold)."""
    errors = {}
    for group in evidence(points, form):
        left = {q.variant for q in group}
        weights = _solve(form, [q for q in points if q.variant not in left])
        for p in group:
            pred = _predict(form, weights, p.instructions)
            if not pred > 0 or not math.isfinite(pred):
                return None
            errors[p.variant] = (pred - p.ms) / p.ms
    return errors


def _candidates(points: Sequence[Point]) -> list[str]:
    forms = ["scale"]
    if len(evidence(points)) >= 4:
        forms.append("scale+intercept")
    if len(evidence(points, "families")) >= 4 and sum(sme_share(p.instructions) > 0 for p in points) >= 2:
        forms.append("families")
    return forms


@dataclass(frozen=True)
class Prediction:
    """A predicted median and its 95 % interval; ``extrapolated``: how far beyond the counts measured, and what
    widened the interval (the record's ``device["extrapolated"]``), None inside them."""

    ms: float
    low: float
    high: float
    extrapolated: dict | None = None


@dataclass(frozen=True)
class Calibration:
    """A fitted form, its terms, and how well it predicted each measurement it rests on when left out."""

    form: str
    terms: dict[str, float]
    n: int
    loo_errors: dict[str, float]  # variant -> signed relative error, (predicted - measured) / measured
    factor: float  # the prediction interval: [ms / factor, ms * factor]
    considered: dict[str, float] = field(default_factory=dict)  # form -> mean |leave-one-out error| (None: failed)
    measured: tuple[tuple[str, int, float], ...] = ()  # (variant, instructions per invoke, ms) it was fitted on

    def predict(self, instr: Instructions) -> tuple[float, float, float]:
        """(milliseconds, interval low, interval high) for a variant counted ``instr``, inside the counts measured
        (:meth:`predict_at` widens one beyond them)."""
        ms = _predict(self.form, list(self.terms.values()), instr)
        return ms, ms / self.factor, ms * self.factor

    def predict_at(self, instr: Instructions) -> Prediction:
        """The prediction for a variant counted ``instr``; beyond the counts measured by more than
        :data:`EXTRAPOLATION`, extrapolated: its interval widened to hold milliseconds in proportion to the count
        from the nearest measured count too (the module's docstring says why widened, not refused)."""
        ms, low, high = self.predict(instr)
        counts = sorted((c, m, v) for v, c, m in self.measured)
        g = instr.per_invoke
        if not counts or counts[0][0] <= g * EXTRAPOLATION and g <= counts[-1][0] * EXTRAPOLATION:
            return Prediction(ms, low, high)
        side = "below" if g < counts[0][0] else "above"
        edge = counts[0][0] if side == "below" else counts[-1][0]
        near = [(c, m, v) for c, m, v in counts if (c <= edge * (1 + SAME_COUNT) if side == "below"
                                                    else c * (1 + SAME_COUNT) >= edge)]
        import statistics

        proportional = statistics.median(m * g / c for c, m, _ in near)
        ratio = edge / g if side == "below" else g / edge
        said = {"side": side, "ratio": ratio, "instructions": g, "measured_instructions": [counts[0][0], counts[-1][0]],
                "nearest": sorted(v for _, _, v in near), "proportional_ms": proportional, "factor": EXTRAPOLATION,
                "fitted_interval_ms": [low, high]}
        return Prediction(ms, min(low, proportional / self.factor), max(high, proportional * self.factor), said)

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


def _interval_factor(points: Sequence[Point], errors: dict[str, float], form: str = "scale") -> float:
    """exp(t * s * sqrt(1 + 1/k)): k points of evidence for ``form`` (distinct counts), s^2 the sum over them of
    each one's mean squared log error, over k - 1 (every count differing: the points' own sum of squares over
    n - 1)."""
    from scipy.stats import t as student_t

    groups = evidence(points, form)
    k = len(groups)
    logs = [[math.log(1.0 / (1.0 + errors[p.variant])) for p in g] for g in groups]  # log(measured / predicted)
    s = math.sqrt(sum(sum(d * d for d in g) / len(g) for g in logs) / (k - 1))
    return math.exp(float(student_t.ppf(0.5 + LEVEL / 2, k - 1)) * s * math.sqrt(1 + 1 / k))


def _counts_words(groups: list[tuple[Point, ...]]) -> str:
    return "; ".join(f"{g[0].instructions.per_invoke / 1e6:.3f} M: {', '.join(p.variant for p in g)}" for g in groups)


def fit(points: Sequence[Point]) -> Calibration:
    """The calibration of ``points`` (ValueError, in words, for fewer than three distinct counts or a value that is
    not positive)."""
    points = list(points)
    if len(points) < MIN_POINTS:
        raise ValueError(f"a calibration needs measurements of at least {MIN_POINTS} variants; there "
                         f"{'is' if len(points) == 1 else 'are'} {len(points)}")
    if len({p.variant for p in points}) != len(points):
        raise ValueError("a variant is measured twice among the points")
    bad = [p.variant for p in points if not (p.ms > 0 and math.isfinite(p.ms) and p.instructions.per_invoke > 0)]
    if bad:
        raise ValueError(f"milliseconds and counts must be positive; they are not for {', '.join(bad)}")
    groups = evidence(points)
    if len(groups) < MIN_POINTS:
        raise ValueError(f"the {len(points)} measurements have {len(groups)} distinct count"
                         f"{'' if len(groups) == 1 else 's'} ({_counts_words(groups)}): counts within "
                         f"{SAME_COUNT * 100:.0f} % of each other are one point of evidence about the slope, and a calibration "
                         f"needs {MIN_POINTS} distinct counts")
    considered: dict[str, float | None] = {}
    best = None
    for form in _candidates(points):
        errors = _loo(form, points)
        considered[form] = None if errors is None else sum(map(abs, errors.values())) / len(errors)
        if errors is not None and (best is None or considered[form] < BETTER_BY * considered[best[0]]):
            best = (form, errors)
    form, errors = best  # "scale" never predicts zero from positive counts, so one form always holds
    terms = dict(zip(TERMS[form], _solve(form, points)))
    return Calibration(form, terms, len(points), errors, _interval_factor(points, errors, form), considered,
                       tuple((p.variant, p.instructions.per_invoke, p.ms) for p in points))
