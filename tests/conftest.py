"""Test tiers, and the photos of the media-free tier.

Every test file that reads the sample media is marked `media`, the web UI's browser tests `browser`
too, so `pytest -m "not media and not browser"` runs only the tests that need neither: the layer
and model-list checks, and the array-in/array-out tests of tests/test_arrays_*.py. Those run on
real photos that ship inside scikit-image (the astronaut portrait, the cameraman, the cat Chelsea),
so they need no fetched media and no network.
"""

from __future__ import annotations

import numpy as np
import pytest

from facegraft.models import Models

# Files whose tests need neither the sample media nor a browser.
NO_MEDIA = {"test_layers.py", "test_arrays_analysis.py", "test_arrays_swap.py", "test_arrays_provenance.py"}
BROWSER = {"test_ui.py"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        name = item.path.name
        if name not in NO_MEDIA:
            item.add_marker(pytest.mark.media)
        if name in BROWSER:
            item.add_marker(pytest.mark.browser)


def _frozen(rgb: np.ndarray) -> np.ndarray:
    # Shared by every test of the session: a test that wrote into it would change the others' input.
    rgb = np.ascontiguousarray(rgb)
    rgb.setflags(write=False)
    return rgb


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """Eileen Collins' official portrait: one frontal face, 512x512 RGB."""
    import skimage.data
    return _frozen(skimage.data.astronaut())


@pytest.fixture(scope="session")
def cameraman() -> np.ndarray:
    """A man at a camera, his head turned toward the image's right; greyscale, as 512x512 RGB."""
    import skimage.data
    return _frozen(np.dstack([skimage.data.camera()] * 3))


@pytest.fixture(scope="session")
def chelsea() -> np.ndarray:
    """A cat, 451x300 RGB: a real photo with no human face."""
    import skimage.data
    return _frozen(skimage.data.chelsea())


@pytest.fixture(scope="module")
def models() -> Models:
    """One Models per test module, as an entry point makes one per run."""
    return Models()
