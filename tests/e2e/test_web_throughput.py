"""The web uploader's throughput script (`python -m tests.e2e.web_throughput`, the figure in
docs/performance.md) still runs end to end: a small folder, every photo to its thumbnail."""

from __future__ import annotations

import json

import pytest

from tests.e2e.web_throughput import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_throughput_script_times_a_folder_to_its_last_thumbnail(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When the script uploads twelve photos of the small profile from the browser
    code = main(["--photos", "12", "--profile", "small", "--json"])
    # Then every one became a thumbnail, and the figures are in order
    assert code == 0, capsys.readouterr().err
    figures = json.loads(capsys.readouterr().out)
    assert (figures["files"], figures["photos_complete"], figures["failed"]) == (12, 12, 0)
    assert 0 < figures["first_thumbnail_s"] <= figures["last_thumbnail_s"]
    assert 0 < figures["upload_s"] < figures["last_thumbnail_s"]  # the last file is sent before it is drawn
    assert figures["bytes_sent"] > 0 and figures["cpu_s"]["moto"] > 0
