"""Plain NumPy reference of every kernel, written independently of core/kernels.py.

Everything here is float64 with ``np.tanh`` and reads only a topology's ``src``, ``dst``,
``n_neurons`` and ``outputs``: the topological order is recomputed here (depth-first), so the
kernels' ``order`` and ``ptr`` are checked, not trusted. Shapes follow the core API: samples
are float64[P]; targets float64[3, P]; images float64[H, W, 3]; Jacobians float64[H, W, 3, S].
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

BIAS, X_IN, Y_IN = -1, -2, -3


def pixel_coords(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres, row-major (sample i*W + j is row i, column j), y down: float64[H*W] x2."""
    x = np.empty(height * width)
    y = np.empty(height * width)
    for i in range(height):
        for j in range(width):
            x[i * width + j] = -1.0 + 2.0 * (j + 0.5) / width
            y[i * width + j] = -1.0 + 2.0 * (i + 0.5) / height
    return x, y


def topo_order(src, dst, n: int) -> list[int]:
    """A topological order of the neurons by depth-first search (raises on a cycle)."""
    parents: list[list[int]] = [[] for _ in range(n)]
    for s, d in zip(np.asarray(src).tolist(), np.asarray(dst).tolist(), strict=True):
        if s >= 0:
            parents[d].append(s)
    state = [0] * n  # 0 new, 1 on the stack, 2 done
    order: list[int] = []

    def visit(u: int) -> None:
        if state[u] == 2:
            return
        if state[u] == 1:
            raise ValueError("cycle")
        state[u] = 1
        for p in parents[u]:
            visit(p)
        state[u] = 2
        order.append(u)

    for u in range(n):
        visit(u)
    return order


def reachable(src, dst, n: int, start: int) -> set[int]:
    """Brute force: every neuron with a directed path from ``start`` (start included)."""
    pairs = [(int(s), int(d)) for s, d in zip(src, dst, strict=True) if s >= 0]
    seen = {start}
    grew = True
    while grew:
        grew = False
        for s, d in pairs:
            if s in seen and d not in seen:
                seen.add(d)
                grew = True
    return seen


def _source_value(sv: int, a: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if sv == BIAS:
        return np.ones_like(x)
    if sv == X_IN:
        return x
    if sv == Y_IN:
        return y
    return a[sv]


def forward(topo, w, x, y) -> np.ndarray:
    """Every neuron's activation at samples x, y (float64[P]): float64[N, P]."""
    w = np.asarray(w, np.float64)
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    a = np.zeros((topo.n_neurons, x.size))
    for n in topo_order(topo.src, topo.dst, topo.n_neurons):
        z = np.zeros(x.size)
        for s in range(topo.n_synapses):
            if topo.dst[s] == n:
                z = z + w[s] * _source_value(int(topo.src[s]), a, x, y)
        a[n] = np.tanh(z)
    return a


def render(topo, w, width: int, height: int) -> np.ndarray:
    """The painting float64[H, W, 3]."""
    x, y = pixel_coords(width, height)
    a = forward(topo, w, x, y)
    return a[topo.outputs].T.reshape(height, width, 3)


def activations(topo, w, width: int, height: int) -> np.ndarray:
    """Every neuron over the plane: float64[N, H, W]."""
    x, y = pixel_coords(width, height)
    return forward(topo, w, x, y).reshape(topo.n_neurons, height, width)


def backward(topo, w, a, x, y, da_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reverse pass from a seed dL/da on the 3 outputs (float64[3, P]).

    Returns (dL/dz float64[N, P], dL/dw per sample float64[S, P]).
    """
    w = np.asarray(w, np.float64)
    da = np.zeros_like(a)
    for k in range(3):
        da[topo.outputs[k]] += da_out[k]
    dz = np.zeros_like(a)
    gw = np.zeros((topo.n_synapses, a.shape[1]))
    for n in reversed(topo_order(topo.src, topo.dst, topo.n_neurons)):
        dz[n] = da[n] * (1.0 - a[n] ** 2)  # a = tanh(z)  =>  da/dz = 1 - a^2
        for s in range(topo.n_synapses):
            if topo.dst[s] == n:
                sv = int(topo.src[s])
                gw[s] = dz[n] * _source_value(sv, a, x, y)  # z += w*src  =>  dz/dw = src
                if sv >= 0:
                    da[sv] = da[sv] + w[s] * dz[n]  # dz/dsrc = w
    return dz, gw


def sse_and_grad(topo, w, x, y, t) -> tuple[float, np.ndarray]:
    """Sum over samples and channels of squared error, and its gradient float64[S]."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    a = forward(topo, w, x, y)
    r = a[topo.outputs] - np.asarray(t, np.float64)
    _, gw = backward(topo, w, a, x, y, 2.0 * r)
    return float(np.sum(r * r)), gw.sum(axis=1)


def loss(topo, w, x, y, t, l2: float = 0.0) -> float:
    """Mean squared error over samples and the 3 channels, plus l2 * |w|^2."""
    a = forward(topo, w, x, y)
    r = a[topo.outputs] - np.asarray(t, np.float64)
    w = np.asarray(w, np.float64)
    return float(np.sum(r * r) / (3 * np.size(x)) + l2 * np.dot(w, w))


def loss_and_grad(topo, w, x, y, t, l2: float = 0.0) -> tuple[float, np.ndarray]:
    """``loss`` and its gradient float64[S]."""
    sse, g = sse_and_grad(topo, w, x, y, t)
    w = np.asarray(w, np.float64)
    scale = 1.0 / (3 * np.size(x))
    return sse * scale + l2 * float(np.dot(w, w)), g * scale + 2.0 * l2 * w


def jacobian(topo, w, width: int, height: int) -> np.ndarray:
    """d(painting)/d(w) by one reverse pass per output channel: float64[H, W, 3, S]."""
    x, y = pixel_coords(width, height)
    a = forward(topo, w, x, y)
    jac = np.zeros((x.size, 3, topo.n_synapses))
    for k in range(3):
        seed = np.zeros((3, x.size))
        seed[k] = 1.0
        _, gw = backward(topo, w, a, x, y, seed)
        jac[:, k, :] = gw.T
    return jac.reshape(height, width, 3, topo.n_synapses)


def jac_sumsq(jac: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """sum over pixels p and channels c of masks[g, p] * J[p, c, s]^2: float64[G, S]."""
    j2 = np.sum(jac.astype(np.float64) ** 2, axis=2)  # [H, W, S]
    return np.einsum("ghw,hws->gs", np.asarray(masks, np.float64), j2)


def jac_gram(jac: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """sum over p, c of masks[g, p] * J[p, c, s] * J[p, c, t]: float64[G, S, S]."""
    j = jac.astype(np.float64)
    return np.einsum("ghw,hwcs,hwct->gst", np.asarray(masks, np.float64), j, j)


def adam_epoch(topo, w, xs, ys, ts, perm, batch: int, lr: float, l2: float, m, v, step: int):
    """One epoch of mini-batch Adam (b1=0.9, b2=0.999, eps=1e-8).

    Each batch's gradient is d(sum of squared errors)/dw / (3 * batch count) + 2 * l2 * w.
    Returns (w, m, v, step, total sum of squared errors seen).
    """
    b1, b2, eps = 0.9, 0.999, 1e-8
    w = np.array(w, np.float64)
    m = np.array(m, np.float64)
    v = np.array(v, np.float64)
    total = 0.0
    for lo in range(0, len(perm), batch):
        idx = perm[lo:lo + batch]
        sse, g = sse_and_grad(topo, w, xs[idx], ys[idx], ts[:, idx])
        total += sse
        step += 1
        g = g / (3.0 * idx.size) + 2.0 * l2 * w
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        m_hat = m / (1.0 - b1 ** step)
        v_hat = v / (1.0 - b2 ** step)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w, m, v, step, total


# xterm-256 mapping and dithering (plain NumPy/Python; see synens.tui.dither)

XTERM_LEVELS = np.array([0, 95, 135, 175, 215, 255])


def xterm_palette_16_255() -> np.ndarray:
    """int[240, 3]: RGB of xterm indices 16..255 (cube, then the gray ramp)."""
    cube = [(XTERM_LEVELS[i // 36], XTERM_LEVELS[i // 6 % 6], XTERM_LEVELS[i % 6])
            for i in range(216)]
    return np.array(cube + [(8 + 10 * k,) * 3 for k in range(24)])


def xterm_nearest(rgb: np.ndarray) -> np.ndarray:
    """Nearest index 16..255 by brute force: the nearest cube colour (ties: lower index), the
    nearest gray (ties: the lighter one), and the gray only when strictly nearer."""
    pal = xterm_palette_16_255()
    c = np.asarray(rgb, dtype=np.int64)[..., None, :]
    d_cube = ((c - pal[:216]) ** 2).sum(axis=-1)
    d_gray = ((c - pal[216:]) ** 2).sum(axis=-1)
    i_cube = d_cube.argmin(axis=-1)
    i_gray = 23 - d_gray[..., ::-1].argmin(axis=-1)
    use_gray = np.take_along_axis(d_gray, i_gray[..., None], -1)[..., 0] < d_cube.min(axis=-1)
    return np.where(use_gray, 232 + i_gray, 16 + i_cube).astype(np.uint8)


def dither_ordered(rgb: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Ordered dithering: per channel, the cube level below or above by the threshold
    (t + 0.5) / n^2; pixels whose nearest colour is a gray step along 0, 8..238, 255."""
    n2 = matrix.size
    ladder = np.array([0, *range(8, 239, 10), 255])
    ladder_index = [16, *range(232, 256), 231]
    near = xterm_nearest(rgb)
    out = np.empty(rgb.shape[:2], dtype=np.uint8)

    def pick(v, levels, t):
        k = max(i for i in range(len(levels) - 1) if levels[i] <= v or i == 0)
        lo, hi = int(levels[k]), int(levels[k + 1])
        return k + 1 if Fraction(v - lo, hi - lo) > Fraction(2 * t + 1, 2 * n2) else k

    for y in range(rgb.shape[0]):
        for x in range(rgb.shape[1]):
            t = matrix[y % matrix.shape[0], x % matrix.shape[1]]
            r, g, b = (int(c) for c in rgb[y, x])
            if near[y, x] >= 232:
                out[y, x] = ladder_index[pick(Fraction(r + g + b, 3), ladder, t)]
            else:
                ci = [pick(c, XTERM_LEVELS, t) for c in (r, g, b)]
                out[y, x] = 16 + 36 * ci[0] + 6 * ci[1] + ci[2]
    return out


def dither_diffusion(rgb: np.ndarray) -> np.ndarray:
    """Serpentine Floyd-Steinberg (7, 3, 5, 1 / 16) on values clipped to 0..255; the carried
    error is rounded to whole levels, (sum + 8) // 16, as the kernel does."""
    pal = xterm_palette_16_255()
    h, w = rgb.shape[:2]
    err = np.zeros((h + 1, w + 2, 3), dtype=np.int64)  # 16 x error, one column pad each side
    out = np.empty((h, w), dtype=np.uint8)
    for y in range(h):
        d = 1 if y % 2 == 0 else -1
        for x in range(w) if d == 1 else range(w - 1, -1, -1):
            v = np.clip(rgb[y, x].astype(np.int64) + (err[y, x + 1] + 8) // 16, 0, 255)
            q = int(xterm_nearest(v))
            out[y, x] = q
            e = v - pal[q - 16]
            err[y, x + 1 + d] += 7 * e
            err[y + 1, x + 1 - d] += 3 * e
            err[y + 1, x + 1] += 5 * e
            err[y + 1, x + 1 + d] += e
    return out


def _sgr_colour(col, base: int, indexed: bool) -> str:
    """"38;2;r;g;b" / "48;5;n" for one cell colour (base 38 or 48)."""
    if indexed:
        return f"{base};5;{int(col[0])}"
    return f"{base};2;" + ";".join(str(int(c)) for c in col)


def encode_diff_row(fg, bg, chars, bfg, bbg, bchars, indexed: bool) -> str:
    """One cell row as changes from a base row the terminal shows (see tui/wire.py).

    Cells are painted with SGR for the colours that changed; each maximal run of cells equal
    to the base is skipped with "CSI n C" ("CSI C" for n = 1) when that is strictly shorter than
    painting the run from the current SGR state. Ends with "\\x1b[0m".
    """
    width = len(chars)
    key = [(tuple(int(v) for v in fg[x]), tuple(int(v) for v in bg[x])) for x in range(width)]
    same = [
        bool(chars[x] == bchars[x] and np.array_equal(fg[x], bfg[x])
             and np.array_equal(bg[x], bbg[x]))
        for x in range(width)
    ]
    out: list[str] = []
    state = (None, None)

    def paint(x: int, state):
        f, b = key[x]
        codes = []
        if f != state[0]:
            codes.append(_sgr_colour(f, 38, indexed))
        if b != state[1]:
            codes.append(_sgr_colour(b, 48, indexed))
        text = ("\x1b[" + ";".join(codes) + "m" if codes else "") + chr(int(chars[x]))
        return text, (f, b)

    x = 0
    while x < width:
        if not same[x]:
            text, state = paint(x, state)
            out.append(text)
            x += 1
            continue
        e = x
        while e < width and same[e]:
            e += 1
        run, st = [], state
        for c in range(x, e):
            text, st = paint(c, st)
            run.append(text)
        n = e - x
        skip = "\x1b[C" if n == 1 else f"\x1b[{n}C"
        if len(skip) < len("".join(run).encode()):
            out.append(skip)
        else:
            out.extend(run)
            state = st
        x = e
    return "".join(out) + "\x1b[0m"


def change_summary(rend: np.ndarray, base: np.ndarray, inside: np.ndarray,
                   band: np.ndarray) -> tuple[float, float, float, float]:
    """RMS change over R and over O, max |change| over O and O's share of squared change in
    the band, of a render float32[3, P] against base float32[3, P]; inside bool[P] (R),
    band bool[P] (O's pixels near R)."""
    d = (rend - base).astype(np.float64)
    d_in, d_out = d[:, inside], d[:, ~inside]
    e_out = (d_out * d_out).sum(axis=0)
    tot = float(e_out.sum())
    border = float(e_out[band[~inside]].sum() / tot) if tot > 0 else 0.0
    return (float(np.sqrt(np.mean(d_in * d_in))), float(np.sqrt(e_out.sum() / d_out.size)),
            float(np.abs(d_out).max()), border)


# --- greedy forward selection (core/analysis/sparse.py::greedy_path, core/kernels/greedy.py) ---
# The vectorised NumPy implementation that the kernels replaced, kept as their reference:
# every step re-rotates the whole whitened state by the eigenvectors of M (O(k²·S)) and solves
# the secular equations of all unpruned candidates at once.

def candidate_scores(a: np.ndarray, bl: np.ndarray, chosen: Sequence[int],
                     cand: np.ndarray) -> np.ndarray:
    """μ(chosen ∪ {j}) for every j of ``cand`` (int64[c]); bl = B + λI. float64[c], −inf if j
    is in ``chosen`` or numerically dependent on it. Exact for every candidate that can be
    the best; a candidate whose upper bound (M ≤ μ_top I) is below the best lower bound gets
    its lower bound instead (it cannot win)."""
    cand = np.asarray(cand, np.int64)
    dj_a, dj_b = a[cand, cand], bl[cand, cand]
    t = np.asarray(chosen, np.int64)
    if t.size == 0:
        return np.where(dj_b > 0, dj_a / np.where(dj_b > 0, dj_b, 1.0), -np.inf)
    low = np.linalg.cholesky(bl[np.ix_(t, t)])
    p = np.linalg.solve(low, np.eye(t.size))               # L⁻¹
    a_tt = a[np.ix_(t, t)]
    mu, q = np.linalg.eigh(p @ a_tt @ p.T)
    l_ = p @ bl[np.ix_(t, cand)]                           # k × c
    d2 = dj_b - np.einsum("ij,ij->j", l_, l_)
    ok = d2 > 1e-10 * np.maximum(dj_b, 1e-300)
    d = np.sqrt(np.where(ok, d2, 1.0))
    x = p.T @ l_
    a_tc = a[np.ix_(t, cand)]
    ax = a_tt @ x
    m = (p @ (a_tc - ax)) / d
    c = (np.einsum("ij,ij->j", x, ax) - 2 * np.einsum("ij,ij->j", x, a_tc) + dj_a) / (d * d)
    z2 = (q.T @ m) ** 2                                   # k × c
    return _secular_top(mu, z2, c, ok, np.isin(cand, t))


def _secular_top(mu: np.ndarray, z2: np.ndarray, c: np.ndarray, ok: np.ndarray,
                 taken: np.ndarray) -> np.ndarray:
    """Top eigenvalue of each bordered matrix [[diag(μ), z_j], [z_jᵀ, c_j]] (μ float64[k]
    ascending, z2 = z² float64[k, c], c float64[c]); −inf where not ``ok`` or ``taken``
    (bool[c]); pruned candidates get their lower bound (see ``candidate_scores``)."""
    top = mu[-1]
    zt2 = z2[-1]
    # bounds on the top eigenvalue of the bordered matrix: with z_top alone (below) and with
    # M ≤ top·I (above); candidates whose upper bound is under the best lower bound cannot win
    low_b = 0.5 * (top + c) + np.sqrt(0.25 * (top - c) ** 2 + zt2)
    up_b = 0.5 * (top + c) + np.sqrt(0.25 * (top - c) ** 2 + z2.sum(axis=0))
    low_b = np.maximum(low_b, np.maximum(top, c))
    out = np.where(ok, low_b, -np.inf)
    out[taken] = -np.inf
    best_low = out.max()
    keep = np.flatnonzero((out > -np.inf) & (up_b >= best_low))
    z2k, ck = z2[:, keep], c[keep]
    theta = low_b[keep]
    live = z2k > 1e-300
    for _ in range(50):
        gap = theta[None, :] - mu[:, None]
        gap = np.where(live, np.maximum(gap, 1e-150), 1.0)
        f = theta - ck - np.sum(np.where(live, z2k / gap, 0.0), axis=0)
        fp = 1.0 + np.sum(np.where(live, z2k / (gap * gap), 0.0), axis=0)
        step = -f / fp
        theta = theta + np.maximum(step, 0.0)
        if np.all(np.abs(step) <= 1e-13 * np.maximum(np.abs(theta), 1e-300)):
            break
    out[keep] = theta
    # pruned candidates keep their lower bound, which is below the winner's value
    return out


class _Whitened:
    """Greedy selection's state over every synapse for the chosen set T (k = |T|), updated by
    one row per added synapse (O(k·S)) instead of re-solved per step: P = L⁻¹ with
    LLᵀ = (B + λI)_TT (float64[k, k]), Lb = P (B + λI)_T: and La = P A_T: (float64[k, S]).
    Then M = P A_TT Pᵀ, and for a candidate j: l = Lb[:, j], d² = bl_jj − ‖l‖²,
    z = Qᵀ(La[:, j] − M l)/d and c_j = (a_jj − 2 lᵀLa[:, j] + lᵀMl)/d², the same bordered
    problem as ``candidate_scores``."""

    def __init__(self, a: np.ndarray, bl: np.ndarray) -> None:
        self.a, self.bl = a, bl
        s = a.shape[0]
        self.da, self.db = np.diag(a).copy(), np.diag(bl).copy()
        self.p = np.zeros((0, 0))
        self.lb = np.zeros((0, s))
        self.la = np.zeros((0, s))
        self.chosen: list[int] = []

    def scores(self, pool: np.ndarray) -> np.ndarray:
        """μ(T ∪ {j}) for every synapse j (float64[S]); −inf off ``pool`` (bool[S]), on T
        and where j is numerically dependent on T."""
        if not self.chosen:
            out = np.where(self.db > 0, self.da / np.where(self.db > 0, self.db, 1.0), -np.inf)
            return np.where(pool, out, -np.inf)
        t = np.asarray(self.chosen, np.int64)
        m_ = self.la[:, t] @ self.p.T
        mu, q = np.linalg.eigh(0.5 * (m_ + m_.T))
        d2 = self.db - np.einsum("ij,ij->j", self.lb, self.lb)
        ok = (d2 > 1e-10 * np.maximum(self.db, 1e-300)) & pool
        d = np.sqrt(np.where(ok, d2, 1.0))
        ql, qa = q.T @ self.lb, q.T @ self.la
        c = (self.da - 2 * np.einsum("ij,ij->j", self.lb, self.la)
             + np.einsum("i,ij->j", mu, ql * ql)) / (d * d)
        z2 = ((qa - mu[:, None] * ql) / d) ** 2
        taken = np.zeros(self.da.size, bool)
        taken[t] = True
        return _secular_top(mu, z2, c, ok, taken)

    def add(self, j: int) -> None:
        """Append synapse j to T: one new row of P, Lb and La."""
        l_ = self.lb[:, j]
        d = float(np.sqrt(self.bl[j, j] - l_ @ l_))
        k = len(self.chosen)
        p = np.zeros((k + 1, k + 1))
        p[:k, :k] = self.p
        p[k, :k] = -(l_ @ self.p) / d
        p[k, k] = 1.0 / d
        self.p = p
        self.lb = np.vstack([self.lb, (self.bl[j] - l_ @ self.lb) / d])
        self.la = np.vstack([self.la, (self.a[j] - l_ @ self.la) / d])
        self.chosen.append(int(j))


def greedy_path(a: np.ndarray, b: np.ndarray, lam: float, k_max: int,
                phases: Sequence[np.ndarray | None] = (None,)) -> tuple[list[int], np.ndarray]:
    """Synapses in the order greedy forward selection adds them (at most ``k_max``), and μ of
    each prefix's best move (float64[k], never falling).

    ``phases``: candidate sets used in turn, each until it is used up (None: every synapse);
    e.g. ``(fan_in, None)`` first completes a neuron's fan-in, then goes on freely. Ties go
    to the lower synapse id. Scores as ``candidate_scores``, with the whitened state kept
    from step to step (``_Whitened``).
    """
    s = a.shape[0]
    state = _Whitened(a, b + lam * np.eye(s))
    mus: list[float] = []
    for phase in phases:
        pool = np.zeros(s, bool)
        pool[np.arange(s) if phase is None else np.asarray(phase, np.int64)] = True
        while len(state.chosen) < k_max:
            pool[state.chosen] = False
            if not pool.any():
                break
            sc = state.scores(pool)
            if not np.isfinite(sc).any():
                break
            best = int(np.argmax(sc))
            mus.append(float(sc[best]))
            state.add(best)
    return state.chosen, np.array(mus)
