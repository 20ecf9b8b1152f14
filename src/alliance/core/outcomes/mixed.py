"""A linear mixed model with one random intercept per group, fitted by REML from group sums.

This is the model statsmodels' ``MixedLM(y, X, groups).fit(reml=True)`` fits (the tests check the
two agree), computed in closed form: with V_i = sigma^2 (I + gamma J) for a group of n_i rows,

    V_i^-1 = (I - w_i J) / sigma^2,   w_i = gamma / (1 + n_i gamma),

so X'V^-1 X, X'V^-1 y and y'V^-1 y need only each group's size and column sums, sigma^2 and the
fixed effects profile out, and the REML criterion is a function of gamma alone (Harville, 1977,
JASA 72:320-338; Pinheiro & Bates, 2000, ch. 2):

    -2 l(gamma) = (N - p) log Q + sum_i log(1 + n_i gamma) + log det X'WX,   Q = r'Wr.

One pass over the rows and a one-dimensional search make a million rows a fraction of a second,
and gamma = 0 (no between-group variance, where general-purpose optimisers stall on a singular
Hessian) is an ordinary point of the search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_GOLDEN = (math.sqrt(5) - 1) / 2
_LOG_GAMMA = (-12.0, 8.0)  # gamma = tau^2 / sigma^2 from 6e-6 to 3,000
_ITERATIONS = 80


@dataclass(frozen=True)
class MixedFit:
    params: NDArray[np.float64]  # fixed effects, in the order of X's columns
    cov: NDArray[np.float64]  # their covariance
    sigma2: float  # residual variance
    tau2: float  # random-intercept variance

    @property
    def se(self) -> NDArray[np.float64]:
        return np.sqrt(np.diag(self.cov))


@dataclass(frozen=True)
class _Sums:
    n: NDArray[np.float64]  # rows per group
    xs: NDArray[np.float64]  # (groups, p) column sums of X
    ys: NDArray[np.float64]  # sums of y
    xtx: NDArray[np.float64]
    xty: NDArray[np.float64]
    yty: float
    rows: int


def random_intercept_reml(
    y: NDArray[np.float64], x: NDArray[np.float64], groups: NDArray[np.int64]
) -> MixedFit:
    """REML fit of y = X b + u_group + e; ``groups`` are 0..G-1."""
    sums = _sums(y, x, groups)
    best = min(_search(sums), (_criterion(sums, 0.0), 0.0))
    gamma = best[1]
    params, q, xtwx = _solve(sums, gamma)
    p = x.shape[1]
    sigma2 = q / (sums.rows - p)
    return MixedFit(
        params=params, cov=sigma2 * np.linalg.inv(xtwx), sigma2=sigma2, tau2=gamma * sigma2
    )


def _sums(y: NDArray[np.float64], x: NDArray[np.float64], groups: NDArray[np.int64]) -> _Sums:
    count = int(groups.max()) + 1
    xs = np.column_stack(
        [np.bincount(groups, weights=x[:, j], minlength=count) for j in range(x.shape[1])]
    )
    return _Sums(
        n=np.bincount(groups, minlength=count).astype(np.float64),
        xs=np.asarray(xs, dtype=np.float64),
        ys=np.bincount(groups, weights=y, minlength=count).astype(np.float64),
        xtx=x.T @ x,
        xty=x.T @ y,
        yty=float(y @ y),
        rows=int(y.shape[0]),
    )


def _solve(sums: _Sums, gamma: float) -> tuple[NDArray[np.float64], float, NDArray[np.float64]]:
    w = gamma / (1 + sums.n * gamma)
    xtwx = sums.xtx - (sums.xs * w[:, None]).T @ sums.xs
    xtwy = sums.xty - (sums.xs * w[:, None]).T @ sums.ys
    ytwy = sums.yty - float(np.sum(w * sums.ys**2))
    params = np.asarray(np.linalg.solve(xtwx, xtwy), dtype=np.float64)
    return params, ytwy - float(params @ xtwy), xtwx


def _criterion(sums: _Sums, gamma: float) -> float:
    _, q, xtwx = _solve(sums, gamma)
    p = xtwx.shape[0]
    sign, logdet = np.linalg.slogdet(xtwx)
    if sign <= 0 or q <= 0:
        return math.inf
    return (sums.rows - p) * math.log(q) + float(np.sum(np.log1p(sums.n * gamma))) + logdet


def _search(sums: _Sums) -> tuple[float, float]:
    """Golden-section search of the criterion over log gamma; returns (criterion, gamma)."""
    a, b = _LOG_GAMMA
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fd = _criterion(sums, math.exp(c)), _criterion(sums, math.exp(d))
    for _ in range(_ITERATIONS):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - _GOLDEN * (b - a)
            fc = _criterion(sums, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + _GOLDEN * (b - a)
            fd = _criterion(sums, math.exp(d))
    gamma = math.exp((a + b) / 2)
    return _criterion(sums, gamma), gamma
