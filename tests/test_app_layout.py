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


async def analyse_region(pilot) -> None:
    """Select the rectangle 7,11,10,20 and wait for its analysis."""
    await pilot.press("s", "left", "shift+left", "up", "space", "right", "right", "shift+down")
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def shown(app, wid: str) -> bool:
    return app.query_one(wid).display and app.query_one(wid).region.area > 0


def test_narrow_tabs_footer_and_painting_at_80x24(app):
    """Below 120 columns one side pane with tabs; the painting beats the thumbnail; the
    footer keeps ? help and q quit."""

    async def body(pilot):
        assert app.has_class("-narrow") and shown(app, "#tabs")
        assert shown(app, "#synapses") and not shown(app, "#neuron")
        assert not shown(app, "#ensemble")
        await pilot.press("tab")
        await pilot.pause()
        assert app.tab == "neuron" and shown(app, "#neuron") and not shown(app, "#synapses")
        await pilot.press("tab", "tab")
        await pilot.pause()
        assert app.tab == "synapses" and shown(app, "#synapses")
        await pilot.press("j", "l")  # the keys still act on the explorer
        assert app.state.selected == 1 and app.state.dirty
        lay, thumb = app.painter.layout, app.query_one("#neuron-map").pixel_size
        assert lay.rw > max(thumb[0], 20) and lay.rh > max(thumb[1], 18)
        width = app.size.width
        footer = [k for k in app.screen.query("FooterKey")
                  if k.region.area and k.region.right <= width]
        labels = {k.description for k in footer}
        assert {"help", "quit"} <= labels

    run(app, body, size=(80, 24))


def test_status_bar_wraps_and_keeps_region_and_hints(app):
    async def body(pilot):
        await pilot.press("s", "left", "space", "right", "right", "down")
        await pilot.pause()
        bar = app.query_one("#status")
        text = "\n".join(line.plain for line in bar.lines)
        assert ("selecting" in text or "sel " in text) and app.state.cursor is not None
        rect = ",".join(map(str, app.state.cursor.rect()))
        assert rect in text and "esc: cancel" in text
        assert all(line.cell_len <= app.size.width for line in bar.lines)
        assert bar.size.height == len(bar.lines) >= 2

    run(app, body, size=(80, 24))


def test_wide_layout_shows_every_pane(app):
    async def body(pilot):
        assert not app.has_class("-narrow") and not shown(app, "#tabs")
        for wid in ("#synapses", "#neuron", "#ensemble"):
            assert shown(app, wid)

    run(app, body, size=(200, 60))


def test_ensemble_pane_scrolls_from_the_keyboard(app):
    """e focuses the ensemble pane: PgDn/PgUp and ↓ scroll it, not the table; esc leaves."""

    async def body(pilot):
        await analyse_region(pilot)
        pane = app.query_one("#ensemble")
        text = str(app.query_one("#ensemble-text").render())
        first, second = text.split("\n")[:2]
        assert first.startswith("region 7,11,10,20") and second.startswith("ensemble:")
        assert pane.max_scroll_y > 0  # the details run past the pane
        await pilot.press("e")
        await pilot.pause()
        assert pane.has_focus
        await pilot.press("down")
        await pilot.pause()
        assert pane.scroll_y == 1 and app.state.selected == 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert pane.scroll_y > 1 and app.state.selected == 0
        await pilot.press("pageup", "pageup")
        await pilot.pause()
        assert pane.scroll_y == 0
        await pilot.press("escape")
        await pilot.pause()
        assert not pane.has_focus
        await pilot.press("pagedown")
        assert app.state.selected == 10  # PgDn moves the table again

    run(app, body, size=(200, 60))


def test_ensemble_tab_scrolls_at_80x24(app):
    async def body(pilot):
        await analyse_region(pilot)
        await pilot.press("e")
        await pilot.pause()
        pane = app.query_one("#ensemble")
        assert app.tab == "ensemble" and shown(app, "#ensemble") and pane.has_focus
        await pilot.press("pagedown")
        await pilot.pause()
        assert pane.scroll_y > 0
        await pilot.press("e")
        assert not pane.has_focus

    run(app, body, size=(80, 24))


def test_help_scrolls_at_80x24_and_closes_on_other_keys(app):
    from synens.tui.screens import HelpScreen
    from textual.containers import VerticalScroll

    async def body(pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one(VerticalScroll)
        await pilot.pause()
        assert box.max_scroll_y > 0 and box.region.bottom <= 24
        await pilot.press("pagedown", "end")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and box.scroll_y == box.max_scroll_y
        await pilot.press("x")
        assert not isinstance(app.screen, HelpScreen) and not app.state.dirty

    run(app, body, size=(80, 24))
