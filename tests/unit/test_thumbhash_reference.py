"""The ThumbHash codec against the reference itself, run in Node: the thumbhash@0.1.1 that the web
uploader's lockfile pins (deploy/web/node_modules, which `make web` installs and `make test`
builds first), so the hashes the pipeline writes are checked with the decoder the page runs.

Without `make web` the reference is not there and these tests are skipped, except under
IMGPIPE_REQUIRE_BROWSER=1 (as `make test` runs), where that is a failure.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from shared.variants import DEFAULT_VARIANTS
from tests.fixtures import thumbhash_pictures as pictures
from worker import engine
from worker.formats import thumbhash

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "deploy" / "web" / "node_modules" / "thumbhash" / "thumbhash.js"
SCRIPT = ROOT / "tests" / "fixtures" / "thumbhash_reference.mjs"
# Pictures on rounding ties (flat, symmetric): their bytes may differ from the reference's
# in terms the decoder scales by zero, or by a step either way (the encoder's docstring says why).
TIES: dict[str, Callable[[], pictures.Pixels]] = {
    "flat": lambda: pictures.flat(80, 50, (200, 30, 90, 255)),
    "gradient": lambda: pictures.gradient(100, 67),
    "disc": lambda: pictures.disc(80, (20, 160, 240)),
    "one_pixel": lambda: pictures.flat(1, 1, (10, 20, 30, 255)),
    "transparent": lambda: pictures.flat(10, 10, (0, 0, 0, 0)),
}


def _reference(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    if not REFERENCE.is_file() or shutil.which("node") is None:
        reason = f"the reference ThumbHash is not installed ({REFERENCE}; `make web`) or node is missing"
        if os.environ.get("IMGPIPE_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    done = subprocess.run(
        ["node", str(SCRIPT), str(REFERENCE)],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    return {answer["name"]: answer for answer in answers}


def _picture(name: str, rgba: np.typing.NDArray[np.uint8]) -> dict[str, Any]:
    return {"name": name, "w": rgba.shape[1], "h": rgba.shape[0], "rgba": rgba.ravel().tolist()}


def _drawn(answer: dict[str, Any]) -> np.typing.NDArray[np.int64]:
    return np.asarray(answer["rgba"], np.int64).reshape(answer["h"], answer["w"], 4)


def test_the_encoder_writes_the_references_bytes_and_the_decoder_draws_its_pixels() -> None:
    drawn = {name: draw() for name, draw in pictures.REFERENCE.items()}
    answers = _reference([_picture(name, rgba) for name, rgba in drawn.items()])
    for name, rgba in drawn.items():
        ours = thumbhash.encode(rgba)
        assert ours.hex() == answers[name]["hash"], name
        assert np.abs(thumbhash.decode(ours).astype(np.int64) - _drawn(answers[name])).max() <= 1, name


def test_on_rounding_ties_the_reference_draws_our_hash_as_it_draws_its_own() -> None:
    drawn = {name: draw() for name, draw in TIES.items()}
    ours = {name: thumbhash.encode(rgba).hex() for name, rgba in drawn.items()}
    answers = _reference(
        [_picture(name, rgba) for name, rgba in drawn.items()]
        + [{"name": f"ours:{name}", "hash": ours[name]} for name in drawn]
    )
    for name in drawn:
        theirs, mine = answers[name], answers[f"ours:{name}"]
        # the same average colour, within a step of its quantisation (a DC term on a tie may
        # round the other way)
        assert mine["average"] == pytest.approx(theirs["average"], abs=0.04), name
        # and within a few levels of the same picture on average
        assert np.abs(_drawn(mine) - _drawn(theirs)).mean() <= 4, name


def test_the_page_draws_a_renders_placeholder_in_the_pictures_colour() -> None:
    # Given a photo rendered by the engine
    photo = Image.linear_gradient("L").resize((900, 600)).convert("RGB")
    photo.paste((200, 60, 30), (0, 0, 450, 600))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=95)
    result = engine.render(buffer.getvalue(), DEFAULT_VARIANTS)
    assert result.placeholder is not None
    # When the page's decoder draws its placeholder
    hash_hex = base64.b64decode(result.placeholder.thumbhash).hex()
    drawn = _drawn(_reference([{"name": "render", "hash": hash_hex}])["render"])
    # Then the drawing's mean is the photo's (within the hash's quantisation)
    mean = np.asarray(photo, np.float64).reshape(-1, 3).mean(axis=0)
    assert drawn[:, :, :3].reshape(-1, 3).mean(axis=0) == pytest.approx(mean, abs=8)
    # with the red half on the left
    assert drawn[:, : drawn.shape[1] // 3, 0].mean() > 170
