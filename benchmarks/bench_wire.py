"""The explorer over a slow link, as a user meets it: bytes per nudge and time to a settled screen.

The installed ``synens-tui`` runs in a 200x60 pty whose output drains at a fixed rate through a
~2 MB buffer (sshd's and TCP's), into a terminal model that answers the app's queries only once
the link has delivered them (tests/slowlink.py). Per configuration (rate, colour mode, wire on or
off; off = SYNENS_WIRE=0, the code before diffs and flow control) it reports:

* bytes per nudge: the median, over 20 synapses spread over the network, of the bytes the app
  writes for one → press (canvas and panes), each after the link has gone quiet;
* one → to a settled screen: press -> the last delivered byte that changed the screen (median
  over the same presses);
* a one-second hold of → at 30 presses/s: release -> the screen's last change; the final screen
  is the final state (checked by tests/test_wire.py).

Run: python3 benchmarks/bench_wire.py --rate 2 --mode truecolor [--wire off] [--synapses 20]
[--rtt-ms 50]
Each run takes 30-90 s; results are appended to benchmarks/results/wire.txt and wire.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from common import ROOT, fmt, log, machine, median  # noqa: E402
from slowlink import SlowLink, app_command, term_env  # noqa: E402

PGDN, DOWN, RIGHT = b"\x1b[6~", b"j", b"l"


def settle(link: SlowLink, t0: float) -> float:
    """Seconds from t0 to the screen's last change (after the link went quiet)."""
    link.wait_quiet(idle=0.8, timeout=60)
    link.replay()
    return max(0.0, link.last_change - t0)


def run(rate_mbit: float, mode: str, wire: bool, synapses: int, hold: bool, rtt: float) -> dict:
    env = term_env(truecolor=True)
    env["SYNENS_WIRE"] = "1" if wire else "0"
    argv = app_command() + ["--colors", mode, "--save-dir", tempfile.mkdtemp(prefix="bw-")]
    link = SlowLink(argv, env, rate_mbit * 1e6, rtt=rtt)
    out: dict = {"rate_mbit": rate_mbit, "mode": mode, "wire": wire, "rtt_ms": rtt * 1e3}
    try:
        link.wait_painted(timeout=120)
        out["first_screen_bytes"] = link.app_bytes
        sizes, settles = [], []
        for i in range(synapses):  # 23 synapses apart: 0, 23, 46, ... over the 460
            if i:
                for key in (PGDN, PGDN, DOWN, DOWN, DOWN):
                    link.press(key)
                    time.sleep(0.03)
                link.wait_quiet(idle=0.8, timeout=60)
            b0 = link.app_bytes
            t0 = link.press(RIGHT)
            settles.append(settle(link, t0))
            sizes.append(link.app_bytes - b0)
        out.update(nudge_bytes=median(sizes), nudge_bytes_all=sizes,
                   one_settle_s=median(settles), one_settle_all=settles)
        if hold:
            b0 = link.app_bytes
            for _ in range(30):  # one second of → held at 30 presses/s
                t_release = link.press(RIGHT)
                time.sleep(1 / 30)
            out["hold_settle_s"] = settle(link, t_release)
            out["hold_bytes"] = link.app_bytes - b0
        out["answers"] = link.answers
    finally:
        link.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=2.0, help="link rate in Mbit/s (default 2)")
    ap.add_argument("--mode", choices=("truecolor", "256"), default="truecolor")
    ap.add_argument("--wire", choices=("on", "off"), default="on",
                    help="off: SYNENS_WIRE=0 (no diffs, no flow control), for comparison")
    ap.add_argument("--synapses", type=int, default=20)
    ap.add_argument("--rtt-ms", type=float, default=0.0,
                    help="network round trip added to the terminal's answers (default 0)")
    ap.add_argument("--no-hold", action="store_true", help="skip the one-second hold")
    args = ap.parse_args()
    log(f"{args.rate:g} Mbit/s, {args.mode}, wire {args.wire} ...")
    r = run(args.rate, args.mode, args.wire == "on", args.synapses, not args.no_hold,
            args.rtt_ms / 1e3)
    rtt = f" rtt {args.rtt_ms:g} ms" if args.rtt_ms else ""
    line = (f"{args.rate:g} Mbit/s{rtt} {args.mode:9s} wire {args.wire:3s}: bytes per nudge median "
            f"{r['nudge_bytes'] / 1e3:.1f} kB (n={args.synapses}); one -> settled "
            f"{fmt(r['one_settle_s'], 's')}")
    if "hold_settle_s" in r:
        line += (f"; 1 s hold at 30/s: settled {fmt(r['hold_settle_s'], 's')} after release, "
                 f"{r['hold_bytes'] / 1e3:.0f} kB")
    line += f"; answers {r['answers']}"
    print(line)
    results = ROOT / "benchmarks" / "results"
    with open(results / "wire.txt", "a") as f:
        f.write(f"{time.strftime('%Y-%m-%d %H:%M')} {line}\n")
    path = results / "wire.json"
    runs = json.loads(path.read_text())["runs"] if path.exists() else []
    path.write_text(json.dumps({"machine": machine(), "runs": [*runs, r]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
