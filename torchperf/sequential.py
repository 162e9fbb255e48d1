"""Always-valid sequential decisions on paired log ratios (``torchperf ab``).

The data are one value per *replicate* (a pair of fresh worker processes in
``torchperf ab``): the mean log ratio ``log(B / A)`` of that pair's interleaved
blocks. The replicates are modelled as i.i.d. ``N(mu, sigma^2)`` with both
parameters unknown; ``exp(mu)`` is the ratio candidate / baseline.

The test statistic is a scale-invariant mixture Bayes factor (the "Bayesian
t-test" with a normal prior of standard deviation ``prior_scale`` on the
standardised effect ``delta = (mu - mu0) / sigma`` and the right-Haar prior
``d sigma / sigma`` on the scale)::

    E_n(mu0) = (1 + n g)^(-1/2) * ((nu + t^2) / (nu + t^2 / (1 + n g)))^(n / 2)

with ``g = prior_scale ** 2``, ``nu = n - 1`` and ``t`` the one-sample t
statistic of ``x - mu0``. ``E_n(mu0)`` is a likelihood ratio of the maximal
scale invariant, hence a nonnegative martingale with ``E_1 = 1`` when
``mu = mu0`` (Pérez-Ortiz, Lardy, de Heide and Grünwald, "E-statistics, group
invariance and anytime-valid testing"; Wang and Ramdas, "Anytime-valid
t-tests and confidence sequences for Gaussian means with unknown variance",
its Gaussian-mixture variant of Lai's 1976 construction). Ville's inequality
gives ``P(sup_n E_n(mu) >= 1 / alpha) <= alpha``, so

    CS_n = {mu0 : E_n(mu0) < 1 / alpha}

is a confidence *sequence*: it covers the true ``mu`` at every ``n``
simultaneously with probability ``>= 1 - alpha``. Any stopping rule, including
"stop as soon as the verdict is settled" and "stop when the time budget is
spent", keeps that guarantee. ``E_n`` is increasing in ``t^2``, so ``CS_n`` is
the interval ``mean +- t*_n s / sqrt(n)`` with ``t*_n`` in closed form
(:func:`t_boundary`).

The verdict is read off the same interval (``docs/statistics.md#rule-10``):
"equivalent" when it lies inside ``[-log(1 + margin), log(1 + margin)]``,
otherwise "slower" when it lies above 0, "faster" when below 0, otherwise
"inconclusive". The interval and the verdict therefore always agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from torchperf.errors import InvalidParameterError

__all__ = [
    "SequentialDecision",
    "SequentialRatioTest",
    "confidence_sequence_path",
    "sequential_verdict",
    "t_boundary",
    "t_mixture_e_value",
]

#: Verdicts of :func:`sequential_verdict`.
VERDICTS = ("slower", "faster", "equivalent", "inconclusive")


def _check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        hint = f" Did you mean {alpha / 100:g}?" if isinstance(alpha, (int, float)) and 1 <= alpha < 100 else ""
        raise InvalidParameterError(f"`alpha` must be in (0, 1); got {alpha!r}.{hint}")
    return float(alpha)


def _check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
        raise InvalidParameterError(f"`{name}` must be a positive finite number; got {value!r}.")
    return float(value)


def _as_values(values: Sequence[float] | np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise InvalidParameterError(f"`values` must be one-dimensional; got shape {x.shape}.")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise InvalidParameterError(
            f"values[{int(bad[0])}] is {x[bad[0]]}; every paired log ratio must be finite."
        )
    return x


def t_boundary(n: int | np.ndarray, alpha: float, prior_scale: float = 1.0) -> np.ndarray | float:
    """The critical ``|t|`` at which the mixture e-value reaches ``1 / alpha``.

    Solves ``E_n = 1 / alpha`` for ``t^2`` in closed form: with ``G = 1 + n g``
    and ``R = (sqrt(G) / alpha) ** (2 / n)``, ``t^2 = (n - 1)(R - 1) / (1 - R / G)``
    when ``R < G``; otherwise no finite ``t`` suffices (``inf``).

    Parameters
    ----------
    n : int or array of int
        Number of replicates (``n >= 2``; ``n = 1`` gives ``inf``).
    alpha : float
        Error rate of the confidence sequence.
    prior_scale : float
        Standard deviation of the normal prior on the standardised effect.

    Returns
    -------
    float or ndarray
        The boundary; ``t*_n * s / sqrt(n)`` is the half-width of the confidence sequence.

    """
    alpha = _check_alpha(alpha)
    g = _check_positive("prior_scale", prior_scale) ** 2
    nn = np.asarray(n, dtype=float)
    big_g = 1.0 + nn * g
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_r = (2.0 / nn) * (0.5 * np.log(big_g) - math.log(alpha))
        r = np.exp(log_r)
        t2 = (nn - 1.0) * (r - 1.0) / (1.0 - r / big_g)
        out = np.where((nn >= 2) & (r < big_g), np.sqrt(t2), np.inf)
    return float(out) if out.ndim == 0 else out


def t_mixture_e_value(
    values: Sequence[float] | np.ndarray, mu0: float = 0.0, *, prior_scale: float = 1.0
) -> float:
    """Scale-invariant mixture e-value (Bayes factor) against ``mean == mu0``.

    Parameters
    ----------
    values : sequence of float
        The replicates (e.g. paired log ratios).
    mu0 : float
        Null value of the mean.
    prior_scale : float
        Standard deviation of the normal prior on the standardised effect.

    Returns
    -------
    float
        ``E_n(mu0)`` (see the module docstring); 1 for ``n <= 1``; ``inf`` when
        every value equals the same number other than ``mu0``.

    """
    x = _as_values(values) - float(mu0)
    g = _check_positive("prior_scale", prior_scale) ** 2
    n = x.size
    if n <= 1:
        return 1.0
    total = float(np.dot(x, x))
    if total == 0.0:
        return 1.0
    big_g = 1.0 + n * g
    explained = float(x.sum()) ** 2 / n * (n * g / big_g)
    rest = total - explained
    if rest <= 0.0:
        return math.inf
    log_e = -0.5 * math.log(big_g) + 0.5 * n * (math.log(total) - math.log(rest))
    return math.exp(log_e) if log_e < 700 else math.inf


def confidence_sequence_path(
    values: Sequence[float] | np.ndarray, *, alpha: float = 0.05, prior_scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The confidence sequence of the mean after every replicate.

    Parameters
    ----------
    values : sequence of float, or 2-D array
        Replicates in order; a 2-D array holds one sequence per row (vectorised
        simulation).
    alpha : float
        The sequence covers the true mean at all ``n`` at once with probability
        ``>= 1 - alpha``.
    prior_scale : float
        Standard deviation of the normal prior on the standardised effect.

    Returns
    -------
    (mean, low, high) : tuple of ndarray
        Running mean and interval after ``1, 2, ..., n`` replicates (same shape
        as ``values``); the interval is ``(-inf, inf)`` while ``n < 2`` or the
        boundary is infinite.

    """
    x = np.asarray(values, dtype=float)
    if x.ndim not in (1, 2) or not np.all(np.isfinite(x)):
        raise InvalidParameterError("`values` must be a finite 1-D sequence or 2-D array of sequences.")
    n = np.arange(1, x.shape[-1] + 1, dtype=float)
    csum = np.cumsum(x, axis=-1)
    csq = np.cumsum(x * x, axis=-1)
    mean = csum / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.maximum(csq - n * mean * mean, 0.0) / (n - 1.0)
        half = t_boundary(n, alpha, prior_scale) * np.sqrt(var / n)
    half = np.where(n >= 2, half, np.inf)
    half = np.where(np.isnan(half), np.inf, half)  # inf * 0 for constant data at n where t* = inf
    return mean, mean - half, mean + half


@dataclass(frozen=True)
class SequentialDecision:
    """State of a sequential paired comparison after ``n`` replicates.

    Attributes
    ----------
    n : int
        Replicates seen.
    verdict : str
        ``"slower"``, ``"faster"``, ``"equivalent"`` or ``"inconclusive"``
        (``docs/statistics.md#rule-10``).
    settled : bool
        True when the verdict is final (the interval is decisive); sampling can stop.
    log_ratio, log_ci_low, log_ci_high : float
        Mean paired log ratio and its confidence-sequence interval.
    ratio, ci_low, ci_high : float
        The same on the ratio scale (candidate / baseline).
    e_value : float
        ``E_n(0)``: evidence against "no difference" (reject at ``>= 1 / alpha``).
    alpha, margin, prior_scale : float
        Parameters of the procedure.
    sd : float
        Standard deviation of the replicates (log scale).

    """

    n: int
    verdict: str
    settled: bool
    log_ratio: float
    log_ci_low: float
    log_ci_high: float
    ratio: float
    ci_low: float
    ci_high: float
    e_value: float
    alpha: float
    margin: float
    prior_scale: float
    sd: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (infinite bounds become None)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def _verdict(low: float, high: float, bound: float) -> str:
    if -bound < low and high < bound:
        return "equivalent"
    if low > 0:
        return "slower"
    if high < 0:
        return "faster"
    return "inconclusive"


def sequential_verdict(
    log_ratios: Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
    margin: float = 0.02,
    prior_scale: float = 1.0,
) -> SequentialDecision:
    """Verdict and interval from paired log ratios, valid at any stopping time.

    Parameters
    ----------
    log_ratios : sequence of float
        One ``log(candidate / baseline)`` per replicate, in order.
    alpha : float
        Error rate: the interval covers the true ratio at every ``n`` with
        probability ``>= 1 - alpha``, so each wrong settled verdict has
        probability ``<= alpha`` however often one looks.
    margin : float
        Relative equivalence margin m: "equivalent" means the ratio's interval
        lies inside ``[1 / (1 + m), 1 + m]``.
    prior_scale : float
        Standard deviation of the normal prior on ``mu / sigma``; 1 tunes the
        test to effects about as large as the replicate-to-replicate noise.

    Returns
    -------
    SequentialDecision
        Verdict, whether it is settled, interval and e-value.

    """
    alpha = _check_alpha(alpha)
    m = _check_positive("margin", margin)
    scale = _check_positive("prior_scale", prior_scale)
    x = _as_values(log_ratios)
    n = int(x.size)
    if n == 0:
        mean = sd = math.nan
        low, high = -math.inf, math.inf
    else:
        means, lows, highs = confidence_sequence_path(x, alpha=alpha, prior_scale=scale)
        mean, low, high = float(means[-1]), float(lows[-1]), float(highs[-1])
        sd = float(np.std(x, ddof=1)) if n > 1 else math.nan
    bound = math.log1p(m)
    verdict = _verdict(low, high, bound)
    e_value = t_mixture_e_value(x, 0.0, prior_scale=scale) if n else 1.0
    return SequentialDecision(
        n=n,
        verdict=verdict,
        settled=verdict != "inconclusive",
        log_ratio=mean,
        log_ci_low=low,
        log_ci_high=high,
        ratio=math.exp(mean) if math.isfinite(mean) else math.nan,
        ci_low=math.exp(low) if low > -math.inf else 0.0,
        ci_high=math.exp(high) if high < math.inf else math.inf,
        e_value=e_value,
        alpha=alpha,
        margin=m,
        prior_scale=scale,
        sd=sd,
    )


class SequentialRatioTest:
    """Feed paired log ratios one at a time; stop when :attr:`decision` is settled.

    Parameters
    ----------
    alpha, margin, prior_scale : float
        See :func:`sequential_verdict`.
    min_n : int
        Replicates to collect before a verdict may settle (default 3). Any
        minimum keeps the guarantee; it guards against deciding on the first
        two replicates when the model (normal replicates) is only roughly right.

    Examples
    --------
    >>> t = SequentialRatioTest(margin=0.02)
    >>> for x in [0.051, 0.049, 0.050, 0.052, 0.048]:
    ...     d = t.update(x)
    >>> d.verdict, d.settled
    ('slower', True)

    """

    def __init__(
        self, *, alpha: float = 0.05, margin: float = 0.02, prior_scale: float = 1.0, min_n: int = 3
    ) -> None:
        self.alpha = _check_alpha(alpha)
        self.margin = _check_positive("margin", margin)
        self.prior_scale = _check_positive("prior_scale", prior_scale)
        if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 2:
            raise InvalidParameterError(f"`min_n` must be an integer >= 2; got {min_n!r}.")
        self.min_n = min_n
        self.values: list[float] = []

    def update(self, log_ratio: float) -> SequentialDecision:
        """Add one replicate and return the current decision."""
        if isinstance(log_ratio, bool) or not isinstance(log_ratio, (int, float)) or not math.isfinite(log_ratio):
            raise InvalidParameterError(f"a paired log ratio must be a finite number; got {log_ratio!r}.")
        self.values.append(float(log_ratio))
        return self.decision

    @property
    def decision(self) -> SequentialDecision:
        """The decision on the replicates so far (not settled before ``min_n``)."""
        d = sequential_verdict(
            self.values, alpha=self.alpha, margin=self.margin, prior_scale=self.prior_scale
        )
        if d.n < self.min_n and d.settled:
            d = SequentialDecision(**{**asdict(d), "settled": False})
        return d
