"""The control curve of synens.core (Gram, greedy path, measured prefixes) in torch.func (peer).

A *speed* peer for the same computation as ``control.context`` + ``sparse.greedy_path`` (from
nothing) + ``control.measure_curve``; it is not a re-implementation of the λ rule: λ comes
from the command line (take the λ that synens's ``choose_ceiling`` chose, so both sides solve
the same problem). Runs in the benchmark venv (benchmarks/torch_env.sh) in its own process;
synens is not imported; the network is benchmarks/torch_net.py's TorchNet. For one region R
(a rectangle, half-open, training resolution) and the rest O:

1. A, B float64[S, S]: pixel-mean JᵀJ over R and over O and the 3 channels, from the full
   Jacobian float32[P, 3, S] (vmap of jacrev), products in float64: A = J_Rᵀ J_R / (3 n_R).
2. Greedy forward selection from nothing to K synapses (64): each step adds the j that
   maximises μ(T ∪ {j}), the top generalised eigenvalue of (A, B + λI) over T ∪ {j}. All
   candidates at once: T's whitened problem M = L⁻¹ A_TT L⁻ᵀ (LLᵀ = (B + λI)_TT) is
   re-solved by ``torch.linalg.eigh`` each step; a candidate borders it by (z_j, c_j), whose
   top eigenvalue is the largest root of θ − c_j − Σ_i z_ij² / (θ − μ_i), found by batched
   Newton steps from a lower bound (monotone). Ties go to the lower synapse id. The best move
   of each prefix is Lᵀ⁻¹ times M's top eigenvector (unit length).
3. Every prefix move measured non-linearly: scaled so that the RMS change inside R of the
   re-render (float32, training resolution) is LEVEL = 0.075 within TOL = 5e-3 relative,
   by the rule of ``measure.py`` (both signs rendered at the linear guess t0 = LEVEL /
   RMS_R(J v), the sign with higher sel kept; then the rule of ``measure.py``: in(t)/t modelled
   as linear through the last two points, the first (0, RMS_R(J v)), steps clamped to
   [1 + TOL, 4]× until a bracket, Illinois regula falsi when the model leaves the bracket;
   at most MAX_STEP per weight).
   All moves in lockstep; each round is one batched render (vmap over weight vectors) of
   every pending w + t·v. sel = in / (out + 1e-4), RMS over R and O.

Usage: python benchmarks/torch_control_peer.py MODEL.npz x0,y0,x1,y1:LAM [...] [--k 64]
       [--repeat 5] [--check]
Prints one JSON line: {"torch": version, "threads": n, "regions": [{"region", "lam", "k",
"seconds", "median", "stages", "path", "mu", "sel", "scale", "in", "out", "renders"}, ...]};
sel/scale/in/out are None where a prefix does not reach LEVEL. With --check, each region
also has "check": the same keys (no timing) for the curve from a float64 Jacobian: float32
Jacobians of two implementations differ by up to ~1e-4 relative in A and B (1 − tanh² of
saturated neurons), so μ can only be compared to 1e-6 from float64 Gram matrices.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import timings  # noqa: E402
from torch_net import TorchNet, jacobian, pixel_grid  # noqa: E402

LEVEL, TOL, FLOOR, MAX_STEP, ROUNDS, BATCH, EPS = 0.075, 5e-3, 1e-4, 20.0, 40, 96, 1e-9
F64 = torch.float64


def gram(net: TorchNet, xy: torch.Tensor, inside: torch.Tensor) -> tuple[torch.Tensor,
                                                                        torch.Tensor]:
    """A, B float64[S, S]: JᵀJ over R's (inside bool[P]) and O's pixels and channels, / (3 n)."""
    j = jacobian(net, xy)                                   # float32[P, 3, S]
    s = j.shape[2]
    jr = j[inside].reshape(-1, s).to(F64)
    jo = j[~inside].reshape(-1, s).to(F64)
    return jr.T @ jr / jr.shape[0], jo.T @ jo / jo.shape[0]


def secular_top(mu: torch.Tensor, z2: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Top eigenvalue of each [[diag(μ), z_j], [z_jᵀ, c_j]] (μ float64[k], z2 = z² float64[k, C],
    c float64[C]): the largest root of the secular equation by Newton steps from the 2×2
    interlacing bound (f is increasing and concave above μ_max, so the steps stay below the
    root and rise to it). float64[C]."""
    top = mu[-1]
    theta = 0.5 * (top + c) + torch.sqrt(0.25 * (top - c) ** 2 + z2[-1])
    theta = torch.maximum(theta, torch.maximum(top, c))
    live = z2 > 1e-300
    for _ in range(50):
        gap = torch.where(live, torch.clamp(theta[None, :] - mu[:, None], min=1e-150), 1.0)
        q = torch.where(live, z2 / gap, 0.0)
        f = theta - c - q.sum(0)
        fp = 1.0 + (q / gap).sum(0)
        step = torch.clamp(-f / fp, min=0.0)
        theta = theta + step
        if bool(torch.all(step <= 1e-13 * torch.clamp(theta.abs(), min=1e-300))):
            break
    return theta


def whitened(a: torch.Tensor, bl: torch.Tensor, t: torch.Tensor):
    """T's whitened problem: P = L⁻¹ (LLᵀ = bl_TT), eigenpairs (μ ascending, Q) of
    M = P A_TT Pᵀ, and P."""
    low = torch.linalg.cholesky(bl[t][:, t])
    p = torch.linalg.solve_triangular(low, torch.eye(t.numel(), dtype=F64), upper=False)
    m = p @ a[t][:, t] @ p.T
    mu, q = torch.linalg.eigh(0.5 * (m + m.T))
    return mu, q, p


def greedy(a: torch.Tensor, b: torch.Tensor, lam: float, k_max: int
           ) -> tuple[list[int], list[float], torch.Tensor]:
    """Greedy forward selection from nothing: the synapses in order, μ of each prefix
    (float), and each prefix's best unit move (float64[k, S], zero off the prefix)."""
    s = a.shape[0]
    bl = b + lam * torch.eye(s, dtype=F64)
    da, db = torch.diagonal(a), torch.diagonal(bl)
    chosen: list[int] = []
    mus: list[float] = []
    moves = torch.zeros(k_max, s, dtype=F64)
    for step in range(k_max):
        free = torch.ones(s, dtype=torch.bool)
        if not chosen:
            score = torch.where(db > 0, da / torch.where(db > 0, db, 1.0), -torch.inf)
        else:
            t = torch.tensor(chosen)
            free[t] = False
            mu, q, p = whitened(a, bl, t)
            _move(moves[step - 1], t, p, q[:, -1])
            lb, la = p @ bl[t], p @ a[t]                    # k × S
            d2 = db - (lb * lb).sum(0)
            ok = d2 > 1e-10 * torch.clamp(db, min=1e-300)
            d = torch.sqrt(torch.where(ok, d2, 1.0))
            ql, qa = q.T @ lb, q.T @ la
            c = (da - 2 * (lb * la).sum(0) + (mu[:, None] * ql * ql).sum(0)) / (d * d)
            z2 = ((qa - mu[:, None] * ql) / d) ** 2
            score = torch.where(ok, secular_top(mu, z2, c), -torch.inf)
        score = torch.where(free, score, -torch.inf)
        best = int(torch.argmax(score))                     # first of equal maxima
        if not bool(torch.isfinite(score[best])):
            break
        chosen.append(best)
        mus.append(float(score[best]))
    t = torch.tensor(chosen)
    mu, q, p = whitened(a, bl, t)
    _move(moves[len(chosen) - 1], t, p, q[:, -1])
    return chosen, mus, moves[:len(chosen)]


def _move(out: torch.Tensor, t: torch.Tensor, p: torch.Tensor, y: torch.Tensor) -> None:
    """out[t] = unit Pᵀ y (the move over T of the whitened eigenvector y), largest |.| > 0."""
    v = p.T @ y
    v = v / torch.linalg.vector_norm(v)
    if v[torch.argmax(v.abs())] < 0:
        v = -v
    out.zero_()
    out[t] = v


class Search:
    """The 1-D search of one move on in(t) − level (the rule of ``measure.py``: the efficiency
    in(t)/t linear through the last two points, the first (0, RMS_R(J v)))."""

    def __init__(self, vmax: float, lin_in: float, level: float = LEVEL) -> None:
        self.level = level
        self.slope = lin_in if lin_in > 0 else 0.0
        self.t_max = MAX_STEP / vmax
        t0 = level / lin_in if lin_in > 0 else 1e-3 * self.t_max
        self.t = min(t0, self.t_max)
        self.sign: float | None = None
        self.lo, self.f_lo = 0.0, -level
        self.hi: float | None = None
        self.f_hi = 0.0
        self.prev: tuple[float, float] | None = None
        self.side = 0
        self.rounds = 0
        self.done = False
        self.found = False

    def scales(self) -> list[float]:
        """The signed steps along v to render this round."""
        return [self.t, -self.t] if self.sign is None else [self.sign * self.t]

    def model(self, t: float, f: float) -> float | None:
        g1 = (f + self.level) / t
        if self.prev is None:
            if self.slope <= 0:
                return None
            t0, g0 = 0.0, self.slope
        else:
            t0, g0 = self.prev
        m = (g1 - g0) / (t - t0) if t != t0 else 0.0
        b = g1 - m * t
        if m == 0.0:
            return self.level / b if b > 0 else None
        disc = b * b + 4.0 * m * self.level
        if disc < 0:
            return b / (-2.0 * m) if m < 0 and b > 0 else None
        if b + math.sqrt(disc) <= 0:
            return None
        return 2.0 * self.level / (b + math.sqrt(disc))

    def update(self, rms: float) -> None:
        """Take the RMS change over R of the render at the current t."""
        f, t = rms - self.level, self.t
        self.rounds += 1
        if abs(f) <= TOL * self.level or (self.hi is not None and
                                          self.hi - self.lo <= 1e-12 * self.hi):
            self.done = self.found = True
            return
        if self.rounds >= ROUNDS:
            self.done, self.found = True, self.hi is not None
            return
        if f <= 0 and self.hi is None and t >= self.t_max:
            self.done = True
            return
        nxt = self.model(t, f)
        self.prev = (t, (f + self.level) / t)
        if f > 0:
            self.hi, self.f_hi = t, f
            if self.side == 1:
                self.f_lo *= 0.5
            self.side = 1
        else:
            self.lo, self.f_lo = t, f
            if self.side == -1:
                self.f_hi *= 0.5
            self.side = -1
        if self.hi is None:
            if nxt is None or not math.isfinite(nxt) or nxt <= t:
                nxt = 4.0 * t
            self.t = min(min(max(nxt, (1.0 + TOL) * t), 4.0 * t), self.t_max)
        elif nxt is not None and math.isfinite(nxt) and self.lo < nxt < self.hi \
                and self.rounds < ROUNDS // 4:
            self.t = nxt
        else:
            self.t = (self.lo * self.f_hi - self.hi * self.f_lo) / (self.f_hi - self.f_lo)


class Painter:
    """Batched float32 renders of weight vectors near w, and their RMS change over R and O."""

    def __init__(self, net: TorchNet, xy: torch.Tensor, inside: torch.Tensor) -> None:
        self.net, self.xy = net, xy
        self.w = net.w.detach().to(F64)
        self.inside = inside
        self.many = torch.func.vmap(lambda w: net(xy, w))
        with torch.inference_mode():
            self.base = net(xy, net.w.detach())             # float32[P, 3]
        self.renders = 0

    def stats(self, steps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """RMS change over R and over O (float64[D] each) of w + step for rows of steps."""
        r_in, r_out = [], []
        with torch.inference_mode():
            for i in range(0, steps.shape[0], BATCH):
                w = (self.w[None, :] + steps[i:i + BATCH]).to(torch.float32)
                d = (self.many(w) - self.base[None]).to(F64)
                e = (d * d).sum(2)                          # [D, P]
                r_in.append(torch.sqrt(e[:, self.inside].mean(1) / 3))
                r_out.append(torch.sqrt(e[:, ~self.inside].mean(1) / 3))
                self.renders += w.shape[0]
        return torch.cat(r_in), torch.cat(r_out)


def measure(painter: Painter, moves: torch.Tensor, lin_in: torch.Tensor) -> list[dict | None]:
    """Each unit move (rows of float64[D, S]) scaled to LEVEL inside R, all in lockstep:
    {"scale", "in", "out", "sel"} or None where it does not reach LEVEL."""
    jobs = [Search(float(v.abs().max()), float(li)) for v, li in zip(moves, lin_in,
                                                                       strict=True)]
    out: list[dict | None] = [None] * len(jobs)
    last: dict[int, tuple[float, float]] = {}
    live = list(range(len(jobs)))
    while live:
        rows, scales = [], []
        for i in live:
            for sc in jobs[i].scales():
                rows.append(i)
                scales.append(sc)
        steps = torch.tensor(scales, dtype=F64)[:, None] * moves[rows]
        rin, rout = (x.tolist() for x in painter.stats(steps))
        pos, still = 0, []
        for i in live:
            job = jobs[i]
            if job.sign is None:
                s_pos = rin[pos] / (rout[pos] + FLOOR)
                s_neg = rin[pos + 1] / (rout[pos + 1] + FLOOR)
                job.sign = 1.0 if s_pos >= s_neg else -1.0
                k = pos if job.sign > 0 else pos + 1
                pos += 2
            else:
                k, pos = pos, pos + 1
            last[i] = (rin[k], rout[k])
            job.update(rin[k])
            if not job.done:
                still.append(i)
            elif job.found:
                r_in, r_out = last[i]
                out[i] = {"scale": job.sign * job.t, "in": r_in, "out": r_out,
                          "sel": r_in / (r_out + FLOOR)}
        live = still
    return out


def curve(net: TorchNet, xy: torch.Tensor, inside: torch.Tensor, lam: float, k_max: int,
          gram_net: tuple[TorchNet, torch.Tensor] | None = None) -> tuple[dict, dict]:
    """The whole curve for one region, end to end, and the seconds of its stages.

    ``gram_net``: a float64 copy of ``net`` and the float64 pixel grid to take the Jacobian
    from (the agreement check); the renders stay float32."""
    t0 = time.perf_counter()
    if gram_net is None:
        a, b = gram(net, xy, inside)
    else:
        a, b = gram(gram_net[0], gram_net[1], inside)
    t1 = time.perf_counter()
    path, mus, moves = greedy(a, b, lam, k_max)
    t2 = time.perf_counter()
    lin_in = torch.sqrt(torch.clamp(((moves @ a) * moves).sum(1), min=0.0))
    painter = Painter(net, xy, inside)
    found = measure(painter, moves, lin_in)
    t3 = time.perf_counter()

    def col(key: str) -> list:
        return [m[key] if m is not None else None for m in found]

    res = {"path": path, "mu": mus, "sel": col("sel"), "scale": col("scale"), "in": col("in"),
           "out": col("out"), "renders": painter.renders}
    return res, {"gram": t1 - t0, "greedy": t2 - t1, "measure": t3 - t2}


def region_arg(text: str) -> tuple[tuple[int, int, int, int], float]:
    """'x0,y0,x1,y1:LAM' -> ((x0, y0, x1, y1), λ)."""
    box, _, lam = text.partition(":")
    region = tuple(int(v) for v in box.split(","))
    if len(region) != 4 or not lam:
        raise argparse.ArgumentTypeError(f"expected x0,y0,x1,y1:LAM, got {text!r}")
    return region, float(lam)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("regions", nargs="+", type=region_arg, metavar="x0,y0,x1,y1:LAM")
    ap.add_argument("--k", type=int, default=64, help="curve length (64)")
    ap.add_argument("--repeat", type=int, default=5, help="timed warm runs per region (5)")
    ap.add_argument("--check", action="store_true",
                    help="also one untimed curve from a float64 Jacobian ('check' key)")
    args = ap.parse_args(argv)
    # Subnormal float64s (squares of tiny Gram entries, ridge-limited regions) run ~10x slower
    # on x86; flushing them changes nothing above 2.2e-308 (the check still agrees to 1e-9).
    torch.set_flush_denormal(True)
    if args.repeat < 1 or args.k < 1:
        ap.error("--repeat and --k must be at least 1")
    net, arr = TorchNet.from_npz(args.model)
    height, width = arr["image"].shape[:2]
    xy = pixel_grid(width, height)
    net64 = (TorchNet.from_npz(args.model, F64)[0], pixel_grid(width, height, F64)
             ) if args.check else None
    out = []
    for (x0, y0, x1, y1), lam in args.regions:
        inside = torch.zeros(height, width, dtype=torch.bool)
        inside[y0:y1, x0:x1] = True
        inside = inside.reshape(-1)
        res, _ = curve(net, xy, inside, lam, args.k)                 # warm-up
        stages: list[dict] = []

        def run(inside=inside, lam=lam, stages=stages) -> None:
            stages.append(curve(net, xy, inside, lam, args.k)[1])

        ts = timings(run, repeat=args.repeat, warmup=0)
        med = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
        out.append({"region": [x0, y0, x1, y1], "lam": lam, "k": args.k, "seconds": ts,
                    "median": statistics.median(ts), "stages": med, **res})
        if net64 is not None:
            out[-1]["check"] = curve(net, xy, inside, lam, args.k, net64)[0]
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "regions": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
