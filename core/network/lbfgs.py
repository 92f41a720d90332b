"""Full-batch L-BFGS in NumPy: two-loop recursion with a backtracking Armijo line search."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

LossGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


class LBFGS:
    """Minimiser state, stepped one iteration at a time so callers can stop between steps.

    ``fg(w) -> (loss, grad float64[S])``; ``w0`` float64[S]. Each ``step()`` does one
    iteration and returns the number of function evaluations it spent.
    """

    def __init__(self, fg: LossGrad, w0: np.ndarray, memory: int = 20) -> None:
        self.fg = fg
        self.w = np.array(w0, np.float64)
        self.f, self.g = fg(self.w)
        self.s_hist: deque[np.ndarray] = deque(maxlen=memory)
        self.y_hist: deque[np.ndarray] = deque(maxlen=memory)
        self.converged = False

    def _direction(self) -> np.ndarray:
        q = -self.g.copy()
        alphas = []
        for s, y in zip(reversed(self.s_hist), reversed(self.y_hist), strict=True):
            rho = 1.0 / float(y @ s)
            a = rho * float(s @ q)
            q -= a * y
            alphas.append((a, rho, s, y))
        if self.s_hist:
            s, y = self.s_hist[-1], self.y_hist[-1]
            q *= float(s @ y) / float(y @ y)  # initial Hessian scaling
        else:
            q /= max(1.0, float(np.linalg.norm(self.g)))
        for a, rho, s, y in reversed(alphas):
            b = rho * float(y @ q)
            q += (a - b) * s
        return q

    def step(self) -> int:
        """One iteration; returns the number of loss/gradient evaluations it used."""
        if self.converged:
            return 0
        d = self._direction()
        slope = float(self.g @ d)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            self.s_hist.clear()
            self.y_hist.clear()
            d = -self.g / max(1.0, float(np.linalg.norm(self.g)))
            slope = float(self.g @ d)
        t, evals = 1.0, 0
        while True:
            w_new = self.w + t * d
            f_new, g_new = self.fg(w_new)
            evals += 1
            if np.isfinite(f_new) and f_new <= self.f + 1e-4 * t * slope:
                break
            t *= 0.5
            if evals >= 30:
                self.converged = True
                return evals
        s, y = w_new - self.w, g_new - self.g
        if float(s @ y) > 1e-12 * float(y @ y):
            self.s_hist.append(s)
            self.y_hist.append(y)
        self.w, self.f, self.g = w_new, f_new, g_new
        if not np.any(s):
            self.converged = True
        return evals
