"""Test tiers. Every test file that reads the sample media is marked `media`, the web UI's
browser tests `browser` too, so `pytest -m "not media and not browser"` runs only the tests that
need neither (today the layer and model-list checks)."""

from __future__ import annotations

import pytest

# Files whose tests need neither the sample media nor a browser.
NO_MEDIA = {"test_layers.py"}
BROWSER = {"test_ui.py"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        name = item.path.name
        if name not in NO_MEDIA:
            item.add_marker(pytest.mark.media)
        if name in BROWSER:
            item.add_marker(pytest.mark.browser)
