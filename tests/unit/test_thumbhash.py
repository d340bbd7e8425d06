"""The ThumbHash codec against Evan Wallace's reference (npm thumbhash@0.1.1) and against what a
placeholder has to show: the picture's colour, its light and dark sides, its shape, its alpha.

The reference's hashes (and the channel sums of what its `thumbHashToRGBA` draws from them) were
made with tests/fixtures/thumbhash_reference.mjs from tests/fixtures/thumbhash_pictures.py; no
network or Node is needed to run these tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.fixtures import thumbhash_pictures as pictures
from worker.formats import thumbhash

pytestmark = pytest.mark.unit

# name: (hash, decoded width, decoded height, decoded R, G, B, A sums), from the reference.
REFERENCE = {
    "noise_100x75": ("dff70105807b6972906a667787665b9afddb76f86a", 32, 23, (89792, 92736, 94208, 187680)),
    "noise_alpha_60x90": (
        "dff781030008aae05688a79faab890995d08ca23d53cd9",
        19,
        32,
        (74176, 76608, 77824, 82688),
    ),
    "noise_100x3": ("1ff8011182af794747a6c877af66ba8803", 32, 5, (19898, 20533, 19569, 40800)),
    "scene_100x67": ("de070a4d8a8087778a77778877877777838008c777", 32, 23, (89499, 86532, 90986, 187680)),
    "scene_48x100": ("def705530e807a7877787778747007d888", 14, 32, (52669, 54482, 55394, 114240)),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_the_bytes_are_the_reference_encoders(name: str) -> None:
    # Given a picture without symmetry (no coefficient on a rounding tie)
    picture = pictures.REFERENCE[name]()
    # When it is hashed, Then the bytes are the reference's
    assert thumbhash.encode(picture).hex() == REFERENCE[name][0]


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_the_decoder_draws_what_the_references_draws(name: str) -> None:
    expected_hash, width, height, sums = REFERENCE[name]
    drawn = thumbhash.decode(bytes.fromhex(expected_hash))
    assert drawn.shape == (height, width, 4)
    # Every pixel agreeing within one level would keep each sum within width x height of it.
    for channel, expected in enumerate(sums):
        assert abs(int(drawn[:, :, channel].astype(np.int64).sum()) - expected) <= width * height


@pytest.mark.parametrize(
    "rgba",
    [(200, 30, 90, 255), (0, 0, 0, 255), (255, 255, 255, 255), (12, 140, 250, 255), (128, 128, 128, 255)],
)
def test_a_flat_colour_decodes_to_that_colour(rgba: tuple[int, int, int, int]) -> None:
    encoded = thumbhash.encode(pictures.flat(80, 50, rgba))
    # ThumbHash keeps L in 6 bits and P, Q in 6 bits over -1..1: a few levels either way.
    average = thumbhash.average_rgba(encoded)
    assert [round(255 * c) for c in average[:3]] == pytest.approx(rgba[:3], abs=5)
    assert average[3] == 1.0
    drawn = thumbhash.decode(encoded).astype(int)
    assert drawn[:, :, :3].min(axis=(0, 1)) == pytest.approx(rgba[:3], abs=6)
    assert drawn[:, :, :3].max(axis=(0, 1)) == pytest.approx(rgba[:3], abs=6)
    assert (drawn[:, :, 3] == 255).all()


def test_a_flat_picture_hashes_alike_at_every_size() -> None:
    # Its AC terms are zero but for rounding error, which the encoder ignores (the module says why).
    hashes = {thumbhash.encode(pictures.flat(w, h, (10, 200, 30, 255))) for w, h in [(100, 90), (77, 70)]}
    assert len(hashes) == 1
    assert set(hashes.pop()[5:]) == {0}  # no AC term


def test_a_gradient_keeps_its_dark_and_light_sides() -> None:
    drawn = thumbhash.decode(thumbhash.encode(pictures.gradient(100, 60))).astype(int)
    red = drawn[:, :, 0].mean(axis=0)  # by column
    assert red[0] < 40 and red[-1] > 215
    assert (np.diff(red) >= -2).all()  # rises from left to right (ringing of a level or two aside)
    assert drawn[:, :, 1:3].max() < 60  # and stays red


@pytest.mark.parametrize(
    ("width", "height"), [(100, 50), (50, 100), (100, 100), (100, 14), (30, 100), (1, 1)]
)
def test_the_aspect_ratio_survives(width: int, height: int) -> None:
    # Given pictures of several shapes, When hashed and drawn, Then the shape is about theirs
    # (the hash keeps it as the luminance grid's sides, at most 7 to 1 or 1 to 7)
    drawn_height, drawn_width = thumbhash.decode(thumbhash.encode(pictures.noise(width, height))).shape[:2]
    assert max(drawn_width, drawn_height) == 32
    assert drawn_width / drawn_height == pytest.approx(width / height, rel=0.15)


def test_alpha_is_kept_where_the_picture_has_it() -> None:
    encoded = thumbhash.encode(pictures.disc(60, (20, 160, 240)))
    assert encoded[2] & 0x80  # the header's alpha bit
    drawn = thumbhash.decode(encoded).astype(int)
    centre, corner = drawn[16, 16], drawn[0, 0]
    assert centre[3] > 200 and corner[3] < 60
    assert centre[:3] == pytest.approx([20, 160, 240], abs=25)
    # The average is the opaque pixels' colour: transparent ones add none.
    assert [round(255 * c) for c in thumbhash.average_rgba(encoded)[:3]] == pytest.approx(
        [20, 160, 240], abs=5
    )


def test_an_opaque_picture_has_no_alpha_byte() -> None:
    encoded = thumbhash.encode(pictures.scene(100, 67))
    assert not encoded[2] & 0x80
    assert thumbhash.average_rgba(encoded)[3] == 1.0


def test_a_transparent_picture_averages_to_transparent_black() -> None:
    picture = pictures.flat(10, 10, (255, 0, 0, 0))
    assert thumbhash.average_rgb(picture) == (0.0, 0.0, 0.0)
    # Zero P and Q quantise to a hair over zero, so red reads as 0.013, as in the reference.
    assert thumbhash.average_rgba(thumbhash.encode(picture)) == pytest.approx((0, 0, 0, 0), abs=0.02)


def test_the_average_weighs_each_pixel_by_its_alpha() -> None:
    picture = pictures.flat(4, 1, (0, 0, 255, 255))
    picture[0, :2] = (255, 0, 0, 85)  # two third-opaque red pixels beside two opaque blue ones
    red, green, blue = thumbhash.average_rgb(picture)
    assert (red, green, blue) == pytest.approx((0.25, 0.0, 0.75))


@pytest.mark.parametrize(
    "picture",
    [
        np.zeros((101, 50, 4), np.uint8),
        np.zeros((50, 101, 4), np.uint8),
        np.zeros((0, 5, 4), np.uint8),
        np.zeros((5, 5, 3), np.uint8),
        np.zeros((5, 5, 4), np.uint16),
    ],
)
def test_input_it_cannot_hash_is_refused(picture: np.typing.NDArray[np.generic]) -> None:
    with pytest.raises(ValueError):
        thumbhash.encode(picture)  # type: ignore[arg-type]


def test_a_hash_is_tens_of_bytes() -> None:
    sizes = {len(thumbhash.encode(draw())) for draw in pictures.REFERENCE.values()}
    assert max(sizes) <= 25 and min(sizes) >= 5
