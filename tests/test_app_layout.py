"""Pilot tests of the explorer's layout at every size: the size message, tabs, panes, footer."""

from __future__ import annotations

from app_fixtures import run


def test_keys_do_nothing_behind_the_size_message(app):
    """Under 80×24 keys are swallowed (three presses used to leave a hidden edit); q quits."""

    async def body(pilot):
        st = app.state
        assert app.has_class("-too-small")
        await pilot.press("l", "l", "l", "j", "s", "1", "R")
        await pilot.pause()
        assert not st.dirty and st.selected == 0 and st.cursor is None
        assert len(st.undo_stack) == 0
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code is not None or not app.is_running

    run(app, body, size=(60, 20))
