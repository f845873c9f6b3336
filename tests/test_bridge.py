"""The browser bridge's messages from the page, as the kernel handles them (the page's side is exercised by the
browser tests: the random walks wait on its barrier)."""

from __future__ import annotations

from typing import Any

from trialviz.app.bridge import BrowserBridge


def answers(bridge: BrowserBridge, message: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    bridge.send = sent.append  # type: ignore[method-assign]
    bridge._on_message(bridge, message, None)
    return sent


def test_a_ping_with_an_id_is_answered_with_that_id_a_heartbeat_without_one():
    bridge = BrowserBridge()
    assert answers(bridge, {"type": "ping", "id": "barrier-7"}) == [{"type": "pong", "id": "barrier-7"}]
    assert answers(bridge, {"type": "ping"}) == [{"type": "pong", "id": None}]


def test_a_row_click_reaches_every_handler_with_its_table_row_and_column():
    bridge = BrowserBridge()
    clicks: list[tuple[str, int, int]] = []
    bridge.on_row_click(lambda table, row, column: clicks.append((table, row, column)))
    assert answers(bridge, {"type": "row", "table": "ae-soc-pt", "index": "3", "column": 2}) == []
    assert clicks == [("ae-soc-pt", 3, 2)]
