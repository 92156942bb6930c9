"""Surface code alone speaks DRF: every other tracked Python file leaves `rest_framework` alone.

`.importlinter` checks the layers and the import graph of the domain modules (`make lint`); this test covers the
files that contract does not name (any module of an app), by their text.
"""
import os
import shutil
import subprocess
from pathlib import PurePosixPath

import pytest

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def is_surface_code(path: str) -> bool:
    """`<app>/**/api/**`, `config/surfaces/**`, settings, tests, conftest files and the benches (which drive the
    API as a client would)."""
    parts = PurePosixPath(path).parts
    folders = parts[:-1]
    return ("api" in folders or parts[:2] in (("config", "surfaces"), ("config", "settings"))
            or "tests" in folders or parts[-1] == "conftest.py" or parts[0] == "bench")


def test_surface_code_is_the_api_packages_surfaces_settings_and_tests():
    assert is_surface_code("scheduling/api/views.py")
    assert is_surface_code("scheduling/calendar_sync/api/views.py")
    assert is_surface_code("config/surfaces/errors.py")
    assert is_surface_code("config/settings/base.py")
    assert is_surface_code("tests/test_surfaces.py") and is_surface_code("notes/tests/test_api.py")
    assert is_surface_code("conftest.py") and is_surface_code("notes/tests/conftest.py")
    assert is_surface_code("bench/agent_booking.py")
    assert not is_surface_code("scheduling/services.py")
    assert not is_surface_code("clinics/ratelimit.py")
    assert not is_surface_code("scheduling/calendar_sync/views_api.py")
    assert not is_surface_code("config/urls.py")


def test_only_surface_code_mentions_rest_framework():
    if shutil.which("git") is None or not os.path.exists(os.path.join(BASE_DIR, ".git")):
        pytest.skip("needs a git checkout")
    listed = subprocess.run(["git", "grep", "-l", "rest_framework", "--", "*.py"], cwd=BASE_DIR,
                            capture_output=True, text=True, check=False).stdout.split()
    assert listed, "git grep found no surface code at all: is this the repository?"
    outside = sorted(path for path in listed if not is_surface_code(path))
    assert not outside, outside
