"""The explorer tests' small fixed model (hidden 4,4; 32×24 picture) and pilot helpers."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import numpy as np
from synens.core.base.topology import layered
from synens.core.files.model import Model, load_model, make_meta, save_model
from synens.core.network.train import TrainConfig, train

W, H = 32, 24


def installed_script() -> str | None:
    """The ``synens-tui`` of the running interpreter's environment (a venv's bin/), else PATH's."""
    beside = Path(sys.executable).with_name("synens-tui")
    return str(beside) if beside.is_file() else shutil.which("synens-tui")


#: The terminal size the pilot tests run the explorer at.
SIZE = (120, 36)


def picture() -> np.ndarray:
    """A deterministic picture of flat shapes: uint8[24, 32, 3]."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    img = np.empty((H, W, 3), np.uint8)
    img[:] = (236, 228, 204)
    img[(xx >= 3) & (xx < 14) & (yy >= 3) & (yy < 12)] = (200, 40, 40)
    img[(xx - 22) ** 2 + (yy - 8) ** 2 < 36] = (40, 90, 200)
    img[(yy >= 15) & (yy < 21) & (xx >= 6) & (xx < 28)] = (250, 190, 30)
    return img


#: The fixed model: made once by ``make_small_model`` and committed, so that snapshots do not
#: move when training numerics change. Regenerate with ``python tests/app_fixtures.py``.
SMALL_MODEL = Path(__file__).parent / "data" / "small.npz"


def make_small_model(path: Path) -> Model:
    """Train the small network for a few seeded epochs, save it to ``path`` and return it."""
    topo = layered((4, 4))
    img = picture()
    result = train(topo, img, TrainConfig(seed=3, epochs=150))
    meta = make_meta(topo, seed=3, epochs=result.epochs, rmse=result.rmse, picture="shapes")
    model = Model(topo, result.weights, img, meta, path=str(path))
    save_model(model, path)
    return model


def small_model(path: Path) -> Model:
    """Copy the committed small model to ``path`` (the tests' own file) and return it."""
    model = load_model(SMALL_MODEL)
    model.path = str(path)
    save_model(model, path)
    return model


def run(app, body, size=SIZE):
    """Run ``body(pilot)`` in the app at ``size`` (after the first paint)."""

    async def main():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(pilot)

    asyncio.run(main())


#: Safety net of ``wait_until``: only a hung app waits this long; a working one returns at once.
WAIT_LIMIT = 180.0


async def wait_until(pilot, condition, what: str, limit: float = WAIT_LIMIT) -> None:
    """Let the app run until ``condition()`` holds; fail naming ``what`` after ``limit`` s.

    The condition is checked after every short turn of the app's event loop, so the test
    waits exactly as long as the app needs: no fixed wait decides whether it passes.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        assert loop.time() < deadline, f"gave up after {limit:.0f} s waiting for {what}"
        await pilot.pause(0.02)


async def settle(pilot) -> None:
    """Wait for the app's workers to finish, including those they start (the region
    analysis starts its null), then for the screen to update."""
    from textual.worker import WorkerState  # here: most tests import no Textual

    app = pilot.app
    for _ in range(1000):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
            break
    await pilot.pause()


if __name__ == "__main__":
    make_small_model(SMALL_MODEL)
