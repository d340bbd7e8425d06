"""The libvips engine, checked against Pillow as an independent decoder.

Every output is decoded with Pillow (never with libvips) before it is judged, so a bug shared by
the encoder and decoder of one library cannot hide itself.
"""

from __future__ import annotations

import ctypes
import io
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import pyvips
from PIL import Image, ImageChops, ImageCms, ImageStat

from shared.errors import CorruptImage, ImageTooLarge, PermanentError, UnsupportedFormat
from shared.limits import Limits
from shared.variants import DEFAULT_VARIANTS, VariantSpec, Watermark
from tests.fixtures import images
from tests.fixtures.pixels import level, pixel
from worker import engine
from worker.engine import colour as engine_colour
from worker.engine import resize as engine_geometry
from worker.formats.geometry import Size, plan_variant

pytestmark = pytest.mark.unit

RGB = tuple[int, int, int]
# (input size, target size) of each resize the engine performed
ScaleCalls = list[tuple[tuple[int, int], tuple[int, int]]]
ORIGINAL = VariantSpec(name="original")
METADATA_MARKERS = (
    b"Exif",
    b"EXIF",
    b"http://ns.adobe.com/xap",
    b"xmpmeta",
    b"Secret Photographer",
    b"TestCam",
)


# --------------------------------------------------------------------------- helpers


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def render_one(data: bytes, spec: VariantSpec = ORIGINAL) -> engine.Rendition:
    (rendition,) = engine.render(data, [spec]).variants
    return rendition


def near(actual: Sequence[int], expected: Sequence[int], tolerance: int) -> bool:
    """Every channel of `expected` within `tolerance` (extra channels of `actual`, e.g. alpha, ignored)."""
    compared = tuple(actual)[: len(expected)]
    return len(compared) == len(expected) and all(
        abs(a - e) <= tolerance for a, e in zip(compared, expected, strict=True)
    )


def rgb_at(image: Image.Image, point: tuple[int, int]) -> RGB:
    red, green, blue = pixel(image.convert("RGB"), point)
    return red, green, blue


def to_output(point: tuple[int, int], upright: Size, spec: VariantSpec) -> tuple[int, int]:
    """Where an upright-source pixel lands in a variant (scale, then centre crop)."""
    scaled, final = plan_variant(upright, spec)
    x = point[0] * scaled.width / upright.width - (scaled.width - final.width) // 2
    y = point[1] * scaled.height / upright.height - (scaled.height - final.height) // 2
    return int(x), int(y)


def changed_box(a: Image.Image, b: Image.Image, threshold: int = 40) -> tuple[int, int, int, int] | None:
    """Bounding box of the pixels that differ by more than `threshold` (ignores codec noise)."""
    difference = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).convert("L")
    return difference.point(lambda v: 255 if v > threshold else 0).getbbox()


def has_no_metadata(rendition: engine.Rendition) -> None:
    image = decode(rendition.data)
    assert not set(image.info) & {"exif", "xmp", "XML:com.adobe.xmp", "comment"}, image.info.keys()
    assert len(image.getexif()) == 0
    for marker in METADATA_MARKERS:
        assert marker not in rendition.data, marker


@pytest.fixture
def scale_calls(monkeypatch: pytest.MonkeyPatch) -> ScaleCalls:
    """Record (input size, target size) of every resize the engine performs."""
    calls: ScaleCalls = []
    real_scale = engine_geometry.scale

    def spy(image: pyvips.Image, target: Size) -> pyvips.Image:
        calls.append(((image.width, image.height), (target.width, target.height)))
        return real_scale(image, target)

    monkeypatch.setattr(engine_geometry, "scale", spy)
    return calls


# --------------------------------------------------------------------------- orientation

ORIENTED_SPECS = (
    ORIGINAL,
    VariantSpec(name="half", width=120, height=120),
    VariantSpec(name="square", width=100, height=100, fit="cover"),
)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(orientation: int) -> None:
    # Given a stored image that displays upright only once orientation N is applied
    data = images.oriented_jpeg(orientation)
    upright = Size(*images.ORIENTED_SIZE)
    left, top, right, bottom = images.MARKER_BOX
    marker = ((left + right) // 2, (top + bottom) // 2)
    mirrors = [
        (upright.width - 1 - marker[0], marker[1]),
        (marker[0], upright.height - 1 - marker[1]),
        (upright.width - 1 - marker[0], upright.height - 1 - marker[1]),
    ]
    # When every variant is rendered
    result = engine.render(data, ORIENTED_SPECS)
    # Then the header facts are the stored ones, and every output is upright and untagged
    stored = (upright.height, upright.width) if orientation >= 5 else (upright.width, upright.height)
    assert (result.source.width, result.source.height, result.source.orientation) == (*stored, orientation)
    expected_sizes = {"original": (240, 160), "half": (120, 80), "square": (100, 100)}
    for spec, rendition in zip(ORIENTED_SPECS, result.variants, strict=True):
        image = decode(rendition.data)
        assert image.size == expected_sizes[spec.name] == (rendition.width, rendition.height)
        red = rgb_at(image, to_output(marker, upright, spec))
        assert red[0] > 160 and red[1] < 90 and red[2] < 90, (spec.name, red)
        for point in mirrors:
            colour = rgb_at(image, to_output(point, upright, spec))
            assert near(colour, images.ORIENTED_BACKGROUND, 30), (spec.name, point, colour)
        assert len(image.getexif()) == 0
        assert "exif" not in image.info and b"Exif" not in rendition.data


@pytest.mark.parametrize("orientation", [6, 8])
def test_rotated_large_photo_uses_upright_dimensions(orientation: int, scale_calls: ScaleCalls) -> None:
    # Given a 2000x3000 stored photo tagged to display as 3000x2000
    data = images.oriented_photo_jpeg(2000, 3000, orientation)
    # When the default variants without the original are rendered
    result = engine.render(data, DEFAULT_VARIANTS[1:])
    # Then the sizes are the upright ones and no resize ever enlarges
    sizes = {r.name: (r.width, r.height) for r in result.variants}
    assert sizes == {
        "large": (1600, 1067),
        "medium": (800, 533),
        "small": (320, 213),
        "thumbnail": (150, 150),
    }
    for rendition in result.variants:
        assert decode(rendition.data).size == sizes[rendition.name]
    assert all(t[0] <= s[0] and t[1] <= s[1] for s, t in scale_calls), scale_calls


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "png", "avif"])
def test_outputs_carry_no_exif_gps_or_xmp(fmt: str) -> None:
    # Given a camera JPEG with EXIF (incl. GPS) and XMP
    source = decode(images.metadata_jpeg())
    assert source.getexif().get_ifd(0x8825) and "xmp" in source.info  # the fixture really has them
    # When rendered to each output format, full size and scaled
    result = engine.render(
        images.metadata_jpeg(),
        [VariantSpec(name="full", format=fmt), VariantSpec(name="small", width=100, format=fmt)],
    )
    # Then nothing of it survives
    for rendition in result.variants:
        assert rendition.format == fmt
        has_no_metadata(rendition)


# --------------------------------------------------------------------------- colour


def _profile_to_srgb(data: bytes) -> Image.Image:
    """Pillow/LittleCMS conversion of a decoded source from its embedded profile to sRGB."""
    source = decode(data)
    profile = ImageCms.ImageCmsProfile(io.BytesIO(source.info["icc_profile"]))
    converted = ImageCms.profileToProfile(
        source,
        profile,
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        outputMode="RGB",
    )
    assert converted is not None  # None only when converting in place, which this does not ask
    return converted


@pytest.mark.parametrize(
    "fixture", [images.cmyk_jpeg, images.p3_jpeg], ids=["cmyk-with-profile", "display-p3"]
)
def test_embedded_profile_is_converted_to_srgb(fixture: Callable[..., bytes]) -> None:
    data = fixture(True) if fixture is images.cmyk_jpeg else fixture()
    expected = _profile_to_srgb(data)
    stored = decode(data)
    rendition = render_one(data)
    output = decode(rendition.data)
    assert rendition.format == "jpeg" and output.mode == "RGB" and output.size == images.SWATCH_SIZE
    for point in images.swatch_points(*output.size):
        assert near(pixel(output, point), pixel(expected, point), 8), (point, pixel(output, point))
    if stored.mode == "RGB":
        # a real conversion happened: the stored P3 numbers are not what comes out
        red = images.swatch_points(*output.size)[0]
        assert max(abs(a - b) for a, b in zip(pixel(output, red), pixel(stored, red), strict=True)) > 10


def test_cmyk_without_profile_uses_a_default_cmyk_profile() -> None:
    # Given the same CMYK pixels with and without the embedded profile
    tagged = decode(render_one(images.cmyk_jpeg(True)).data)
    untagged_rendition = render_one(images.cmyk_jpeg(False))
    untagged = decode(untagged_rendition.data)
    # Then the untagged one still becomes 3-band sRGB with plausible colours
    assert untagged.mode == "RGB" and untagged.getbands() == ("R", "G", "B")
    for point, original in zip(images.swatch_points(*untagged.size), images.SWATCH_COLOURS, strict=True):
        colour = pixel(untagged, point)
        assert near(colour, pixel(tagged, point), 8), (point, colour)
        assert colour.index(max(colour)) == original.index(max(original)), (colour, original)
        assert near(colour, original, 60), (colour, original)


def test_untagged_srgb_passes_through_unchanged() -> None:
    output = decode(render_one(images.swatch_jpeg()).data)
    for point, colour in zip(images.swatch_points(*output.size), images.SWATCH_COLOURS, strict=True):
        assert near(pixel(output, point), colour, 6)


def test_16_bit_rgb_becomes_8_bit() -> None:
    data = images.rgb16_png()
    assert data[24] == 16  # IHDR bit depth
    expected = decode(data).convert("RGB")  # Pillow reduces 16-bit RGB PNGs to 8 bits itself
    lossless = decode(render_one(data, VariantSpec(name="png", format="png")).data)
    assert lossless.mode == "RGB" and lossless.size == expected.size
    assert (
        max(ImageStat.Stat(ImageChops.difference(lossless, expected)).extrema[band][1] for band in range(3))
        <= 2
    )
    jpeg = render_one(data)
    assert jpeg.format == "jpeg" and decode(jpeg.data).mode == "RGB"


def test_16_bit_grey_becomes_8_bit_grey() -> None:
    data = images.grey16_png()
    source = decode(data)
    assert source.mode.startswith("I;16")
    output = decode(render_one(data, VariantSpec(name="png", format="png")).data)
    assert output.mode == "L" and output.size == source.size
    for point in [(0, 0), (50, 40), (120, 75), (199, 149)]:
        assert abs(level(output, point) - level(source, point) / 257) <= 2, point


def test_8_bit_greyscale_jpeg() -> None:
    data = images.grey_jpeg()
    source = decode(data)
    result = engine.render(data, DEFAULT_VARIANTS)
    for rendition in result.variants:
        output = decode(rendition.data)
        assert rendition.format == "jpeg" and output.mode in ("L", "RGB")
        assert output.size == (rendition.width, rendition.height)
    original = decode(result.variants[0].data).convert("L")
    assert abs(ImageStat.Stat(original).mean[0] - ImageStat.Stat(source).mean[0]) < 2


# --------------------------------------------------------------------------- alpha


def _rgba_points() -> tuple[tuple[int, int], tuple[int, int]]:
    width, height = images.RGBA_SIZE
    return (width // 4, height // 2), (3 * width // 4, height // 2)


@pytest.mark.parametrize(
    ("fmt", "expected"), [("auto", "webp"), ("webp", "webp"), ("png", "png"), ("avif", "avif")]
)
def test_alpha_is_kept_by_formats_that_have_it(fmt: str, expected: str) -> None:
    rendition = render_one(images.rgba_png(), VariantSpec(name="v", format=fmt))
    output = decode(rendition.data)
    opaque, clear = _rgba_points()
    assert rendition.format == expected and output.mode == "RGBA"
    assert near(pixel(output, opaque), (*images.RGBA_OPAQUE, 255), 8)
    assert pixel(output, clear)[3] <= 5


def _hex(colour: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def test_each_variant_flattens_onto_its_own_background() -> None:
    # Given two JPEG variants of one transparent upload with different backgrounds
    specs = [
        VariantSpec(name="white", width=64, format="jpeg"),
        VariantSpec(name="black", width=32, format="jpeg", background="#000000"),
    ]
    # When rendered together, then each shows its own colour under the transparent half
    for rendition, expected in zip(engine.render(images.rgba_png(), specs).variants, [255, 0], strict=True):
        output = decode(rendition.data)
        width, height = output.size
        assert near(pixel(output, (3 * width // 4, height // 2)), (expected,) * 3, 10), rendition.name


@pytest.mark.parametrize("background", [(255, 255, 255), (255, 0, 0), (0, 0, 0)])
def test_jpeg_flattens_alpha_onto_the_background(background: RGB) -> None:
    spec = VariantSpec(name="v", format="jpeg", background=_hex(background))
    rendition = render_one(images.rgba_png(), spec)
    output = decode(rendition.data)
    opaque, clear = _rgba_points()
    assert rendition.format == "jpeg" and output.mode == "RGB"
    assert near(pixel(output, clear), background, 10), pixel(output, clear)
    assert near(pixel(output, opaque), images.RGBA_OPAQUE, 10)


def test_scaled_alpha_keeps_transparent_colour_out_of_the_edge() -> None:
    # Given green | transparent-blue, scaled down 4x: the edge pixels are partly transparent
    output = decode(render_one(images.rgba_png(), VariantSpec(name="v", width=32, format="png")).data)
    assert output.size == (32, 24)
    row = [pixel(output, (x, 12)) for x in range(32)]
    edge = [value for value in row if 8 <= value[3] < 250]
    assert edge, row
    # Then every visible pixel is still green: premultiplied scaling, no blue bleed, no darkening
    for visible in (p for p in row if p[3] >= 8):
        assert near(visible, images.RGBA_OPAQUE, 40), row


def test_flattening_before_scaling_matches_flattening_the_scaled_image() -> None:
    # Given green | transparent-blue scaled down 4x, so the edge is partly transparent
    jpeg = VariantSpec(name="v", width=32, format="jpeg")
    keeps_alpha = VariantSpec(name="w", width=16, format="png")
    # When flattened once before scaling (every output JPEG) and after scaling (a PNG is wanted too)
    (first,) = engine.render(images.rgba_png(), [jpeg]).variants
    after, _ = engine.render(images.rgba_png(), [jpeg, keeps_alpha]).variants
    early, late = decode(first.data), decode(after.data)
    # Then the pictures agree, the partly transparent edge included
    assert early.size == late.size == (32, 24)
    row = [(x, 12) for x in range(32)]
    assert all(near(pixel(early, xy), pixel(late, xy), 6) for xy in row), (
        [pixel(early, xy) for xy in row],
        [pixel(late, xy) for xy in row],
    )


def _flatten_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    calls: list[tuple[int, int, int]] = []
    real = engine_colour.flatten

    def spy(image: pyvips.Image, background: RGB) -> pyvips.Image:
        calls.append((image.width, image.height, image.bands))
        return real(image, background)

    monkeypatch.setattr(engine_colour, "flatten", spy)
    return calls


def test_all_jpeg_outputs_flatten_the_decoded_image_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _flatten_calls(monkeypatch)
    # When every variant is JPEG, then the unscaled source is flattened once, before any resize
    specs = [VariantSpec(name=n, width=w, format="jpeg") for n, w in (("a", 64), ("b", 32), ("c", 16))]
    engine.render(images.rgba_png(), specs)
    assert calls == [(*images.RGBA_SIZE, 4)]


def test_mixed_outputs_flatten_each_jpeg_variant_after_scaling(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _flatten_calls(monkeypatch)
    # When one variant keeps alpha, then only the JPEG ones are flattened, each at its own size
    specs = [VariantSpec(name="a", width=64, format="jpeg"), VariantSpec(name="b", width=32, format="png")]
    engine.render(images.rgba_png(), specs)
    assert calls == [(64, 48, 4)]


@pytest.mark.parametrize("fmt", ["jpeg", "auto", "png"])
def test_extra_samples_between_colour_and_alpha(fmt: str) -> None:
    # Given RGB + an extra sample + alpha (5 bands), right half transparent
    rendition = render_one(images.rgb_extra_alpha_tiff(), VariantSpec(name="v", width=64, format=fmt))
    output = decode(rendition.data)
    opaque, clear = (16, 24), (48, 24)
    # Then the colour survives and the transparent half is white (JPEG) or transparent
    assert near(pixel(output, opaque), images.RGBA_OPAQUE, 10)
    if rendition.format == "jpeg":
        assert near(pixel(output, clear), (255, 255, 255), 10)
    else:
        assert output.mode == "RGBA" and pixel(output, clear)[3] <= 5


def _rgba_with(mode_16bit: bool, profile: bytes | None) -> bytes:
    image = pyvips.Image.new_from_buffer(images.rgba_png(), "")
    if mode_16bit:
        image = (image.cast("ushort") * 257).cast("ushort").copy(interpretation="rgb16")
    if profile is not None:
        image = image.copy()
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", profile)
    return bytes(image.pngsave_buffer(keep="icc" if profile is not None else "none"))


@pytest.mark.parametrize(
    ("sixteen", "profile"), [(True, None), (False, "p3")], ids=["16-bit", "display-p3-profile"]
)
@pytest.mark.parametrize("background", [(255, 255, 255), (200, 60, 30)])  # the latter differs in P3
def test_alpha_that_needs_converting_still_flattens_onto_the_background(
    sixteen: bool, profile: str | None, background: RGB
) -> None:
    # Given RGBA sources whose values change before encoding (16-bit, or a non-sRGB profile)
    data = _rgba_with(sixteen, images.icc_profile(profile) if profile else None)
    # When every variant is JPEG
    spec = VariantSpec(name="v", width=64, format="jpeg", background=_hex(background))
    output = decode(render_one(data, spec).data)
    # Then the transparent half is the background, exactly as asked, not scaled or converted
    width, height = output.size
    assert near(pixel(output, (3 * width // 4, height // 2)), background, 10)


def test_grey_alpha_flattens_onto_a_coloured_background() -> None:
    # Given a grey+alpha PNG whose right half is transparent
    grey = Image.new("LA", (64, 48), (0, 0))
    grey.paste((120, 255), (0, 0, 32, 48))
    buffer = io.BytesIO()
    grey.save(buffer, "PNG")
    # When flattened to JPEG onto red
    output = decode(
        render_one(buffer.getvalue(), VariantSpec(name="v", format="jpeg", background="#ff0000")).data
    )
    # Then the transparent half shows red (it comes out white: 255 taken as a grey level)
    assert near(rgb_at(output, (48, 24)), (255, 0, 0), 30), rgb_at(output, (48, 24))


# --------------------------------------------------------------------------- animation


@pytest.mark.parametrize("fixture", [images.animated_gif, images.animated_webp], ids=["gif", "webp"])
@pytest.mark.parametrize(
    "colours", [images.FRAME_COLOURS, images.FRAME_COLOURS[::-1]], ids=["red-first", "blue-first"]
)
def test_animation_renders_its_first_frame_only(
    fixture: Callable[[tuple[RGB, ...]], bytes], colours: tuple[RGB, ...]
) -> None:
    data = fixture(colours)
    assert getattr(decode(data), "n_frames", 1) == len(colours)
    result = engine.render(data, [ORIGINAL, VariantSpec(name="small", width=32, height=32)])
    assert result.source.pages == len(colours)
    assert (result.source.width, result.source.height) == images.FRAME_SIZE
    full, small = (decode(r.data) for r in result.variants)
    assert full.size == images.FRAME_SIZE and small.size == (32, 24)
    for output in (full, small):
        assert getattr(output, "n_frames", 1) == 1
        assert near(rgb_at(output, (output.width // 2, output.height // 2)), colours[0], 12)


# --------------------------------------------------------------------------- geometry end to end


def test_tiny_source_is_never_enlarged(scale_calls: ScaleCalls) -> None:
    result = engine.render(images.tiny_jpeg(), DEFAULT_VARIANTS)
    for rendition in result.variants:
        assert (rendition.width, rendition.height) == (12, 9)
        assert decode(rendition.data).size == (12, 9)
    assert all(target == (12, 9) for _, target in scale_calls)


def test_identical_variants_are_encoded_once_but_all_returned() -> None:
    # Given a 12x9 source, where every inside default is the same 12x9 JPEG
    result = engine.render(images.tiny_jpeg(), DEFAULT_VARIANTS)
    by_name = {r.name: r for r in result.variants}
    assert list(by_name) == [s.name for s in DEFAULT_VARIANTS]
    # Then they share the bytes, keep their own names, and other formats stay distinct
    assert (
        by_name["large"].data == by_name["medium"].data == by_name["small"].data == by_name["original"].data
    )
    mixed = engine.render(images.tiny_jpeg(), [ORIGINAL, VariantSpec(name="w", format="webp")]).variants
    assert [(r.name, r.format) for r in mixed] == [("original", "jpeg"), ("w", "webp")]
    assert decode(mixed[1].data).format == "WEBP"


def test_panorama_sizes_and_centre_crop() -> None:
    result = engine.render(images.panorama_jpeg(), DEFAULT_VARIANTS)
    sizes = {r.name: decode(r.data).size for r in result.variants}
    assert sizes == {
        "original": (9000, 500),
        "large": (1600, 89),
        "medium": (800, 44),
        "small": (320, 18),
        "thumbnail": (150, 150),
    }
    # the red channel ramps left to right, so a centre crop averages about half of 255
    thumbnail = decode(result.variants[-1].data)
    assert abs(ImageStat.Stat(thumbnail).mean[0] - 127) < 12


@pytest.fixture(scope="module")
def default_render() -> tuple[bytes, engine.RenderResult]:
    data = images.photo_jpeg(3000, 2000)
    return data, engine.render(data, DEFAULT_VARIANTS)


def test_default_variants_on_a_3000x2000_photo(default_render: tuple[bytes, engine.RenderResult]) -> None:
    data, result = default_render
    expected = {
        "original": (3000, 2000),
        "large": (1600, 1067),
        "medium": (800, 533),
        "small": (320, 213),
        "thumbnail": (150, 150),
    }
    assert [r.name for r in result.variants] == list(expected)
    assert result.source == engine.SourceInfo("jpeg", 3000, 2000, 1, len(data), 1, False)
    for rendition in result.variants:
        output = decode(rendition.data)
        assert (rendition.width, rendition.height) == output.size == expected[rendition.name]
        assert rendition.format == "jpeg" and output.format == "JPEG" and output.mode == "RGB"
        assert rendition.data[:3] == b"\xff\xd8\xff" and rendition.content_type == "image/jpeg"


def test_default_variants_look_like_the_source(default_render: tuple[bytes, engine.RenderResult]) -> None:
    data, result = default_render
    source = decode(data)
    for rendition in result.variants[:4]:  # the inside-fit ones
        output = decode(rendition.data)
        reference = source.resize(output.size, Image.Resampling.LANCZOS)
        # red and green are smooth ramps: compare them; blue carries a fine texture that aliases
        mean_error = ImageStat.Stat(ImageChops.difference(output, reference)).mean
        assert mean_error[0] < 8 and mean_error[1] < 8, (rendition.name, mean_error)


def test_timings_cover_every_step(default_render: tuple[bytes, engine.RenderResult]) -> None:
    _, result = default_render
    steps = {"probe", "placeholder", "total"}
    assert set(result.timings_ms) == steps | {f"variant.{s.name}" for s in DEFAULT_VARIANTS}
    assert all(value >= 0 for value in result.timings_ms.values())
    assert result.timings_ms["total"] >= max(v for k, v in result.timings_ms.items() if k != "total")


def test_shrink_on_load_decodes_small_when_only_small_variants_are_wanted(scale_calls: ScaleCalls) -> None:
    # Given a 4000x3000 JPEG and only the 800px variant
    result = engine.render(images.photo_jpeg(4000, 3000), [DEFAULT_VARIANTS[2]])
    # Then the decoder already shrank by 4 and the resize only went from 1000x750 to 800x600
    assert (result.variants[0].width, result.variants[0].height) == (800, 600)
    assert scale_calls == [((1000, 750), (800, 600))]


@pytest.mark.parametrize(
    "fixture",
    [
        pytest.param(lambda: images.photo_jpeg(3000, 2000), id="3000x2000-jpeg"),
        pytest.param(lambda: images.photo_jpeg(4000, 3000), id="4000x3000-jpeg"),
        pytest.param(images.panorama_jpeg, id="panorama"),
    ],
)
def test_no_resize_step_enlarges(fixture: Callable[[], bytes], scale_calls: ScaleCalls) -> None:
    engine.render(fixture(), DEFAULT_VARIANTS[1:])
    assert scale_calls and all(t[0] <= s[0] and t[1] <= s[1] for s, t in scale_calls), scale_calls


@pytest.mark.parametrize("fixture", [images.photo_jpeg, images.photo_webp], ids=["jpeg", "webp"])
def test_shrink_on_load_never_decodes_smaller_than_the_variant(
    fixture: Callable[[int, int], bytes], scale_calls: ScaleCalls
) -> None:
    # Given a 1001x1001 source and a 501px variant: load_shrink picks 2, expecting ceil(1001/2)=501
    rendition = render_one(fixture(1001, 1001), VariantSpec(name="v", width=501, height=501))
    assert (rendition.width, rendition.height) == (501, 501)
    # Then no resize step should enlarge (actual: 500x500 -> 501x501)
    assert all(t[0] <= s[0] and t[1] <= s[1] for s, t in scale_calls), scale_calls


# --------------------------------------------------------------------------- other source formats


@pytest.mark.parametrize(
    ("fixture", "fmt"),
    [(images.photo_png, "png"), (images.photo_webp, "webp"), (images.photo_tiff, "tiff")],
    ids=["png", "webp", "tiff"],
)
def test_other_source_formats(fixture: Callable[[], bytes], fmt: str) -> None:
    result = engine.render(fixture(), DEFAULT_VARIANTS)
    assert result.source.format == fmt and (result.source.width, result.source.height) == (320, 240)
    sizes = {r.name: decode(r.data).size for r in result.variants}
    assert sizes == {
        "original": (320, 240),
        "large": (320, 240),
        "medium": (320, 240),
        "small": (320, 240),
        "thumbnail": (150, 150),
    }


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (lambda: images.oriented_jpeg(6), engine.SourceInfo("jpeg", 160, 240, 6, 0, 1, False)),
        (images.rgba_png, engine.SourceInfo("png", 128, 96, 1, 0, 1, True)),
        (images.animated_gif, engine.SourceInfo("gif", 64, 48, 1, 0, 3, True)),
        (images.animated_webp, engine.SourceInfo("webp", 64, 48, 1, 0, 3, False)),
        (images.grey16_png, engine.SourceInfo("png", 200, 150, 1, 0, 1, False)),
    ],
    ids=["jpeg-rotated", "png-rgba", "gif", "webp-anim", "png-grey16"],
)
def test_probe_reads_the_header(fixture: Callable[[], bytes], expected: engine.SourceInfo) -> None:
    data = fixture()
    info = engine.probe(data, Limits())
    assert info == engine.SourceInfo(**{**expected.__dict__, "bytes": len(data)})


# --------------------------------------------------------------------------- hostile input


HOSTILE = [
    pytest.param(lambda: b"", Limits(), CorruptImage, id="zero-bytes"),
    pytest.param(images.random_bytes, Limits(), UnsupportedFormat, id="random-bytes"),
    pytest.param(images.text_document, Limits(), UnsupportedFormat, id="text-named-png"),
    pytest.param(images.svg_document, Limits(), UnsupportedFormat, id="svg"),
    pytest.param(images.truncated_jpeg, Limits(), CorruptImage, id="truncated-jpeg"),
    pytest.param(
        lambda: images.photo_png()[: len(images.photo_png()) // 2], Limits(), CorruptImage, id="truncated-png"
    ),
    pytest.param(
        lambda: images.photo_webp()[: len(images.photo_webp()) // 2],
        Limits(),
        CorruptImage,
        id="truncated-webp",
    ),
    pytest.param(lambda: images.png_header_bomb(100, 100), Limits(), CorruptImage, id="png-missing-rows"),
    pytest.param(
        lambda: images.PNG_SIGNATURE + images.random_bytes(), Limits(), CorruptImage, id="png-magic-then-junk"
    ),
    pytest.param(lambda: b"GIF89a" + images.random_bytes(), Limits(), CorruptImage, id="gif-magic-then-junk"),
    pytest.param(images.png_header_bomb, Limits(), ImageTooLarge, id="png-header-bomb"),
    pytest.param(images.jpeg_header_bomb, Limits(), ImageTooLarge, id="jpeg-header-bomb"),
    pytest.param(
        lambda: images.photo_jpeg(64, 48), Limits(max_bytes=1000), ImageTooLarge, id="over-max-bytes"
    ),
    pytest.param(
        lambda: images.photo_jpeg(64, 48), Limits(max_pixels=64 * 48 - 1), ImageTooLarge, id="over-max-pixels"
    ),
    pytest.param(images.animated_gif, Limits(max_frames=2), ImageTooLarge, id="gif-too-many-frames"),
    pytest.param(images.animated_webp, Limits(max_frames=2), ImageTooLarge, id="webp-too-many-frames"),
]


@pytest.mark.parametrize(("fixture", "limits", "error"), HOSTILE)
def test_hostile_input_is_refused_quickly(
    fixture: Callable[[], bytes], limits: Limits, error: type[PermanentError]
) -> None:
    data = fixture()
    started = time.perf_counter()
    with pytest.raises(PermanentError) as excinfo:
        engine.render(data, DEFAULT_VARIANTS, limits)
    elapsed = time.perf_counter() - started
    assert type(excinfo.value) is error, repr(excinfo.value)
    assert elapsed < 1.0  # nothing is decoded in full


HEADER_ONLY = [p for p in HOSTILE if p.values[2] is not CorruptImage or p.id == "zero-bytes"]


@pytest.mark.parametrize(("fixture", "limits", "error"), HEADER_ONLY)
def test_probe_refuses_what_the_header_reveals(
    fixture: Callable[[], bytes], limits: Limits, error: type[PermanentError]
) -> None:
    with pytest.raises(PermanentError) as excinfo:
        engine.probe(fixture(), limits)
    assert type(excinfo.value) is error


@pytest.mark.parametrize("bomb", [images.png_header_bomb, images.jpeg_header_bomb], ids=["png", "jpeg"])
def test_header_bombs_never_reach_the_decoder(bomb: Callable[[], bytes]) -> None:
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match="pixels"):
        engine.render(bomb(), DEFAULT_VARIANTS)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("limits", "ok"),
    [
        (Limits(max_pixels=64 * 48), True),
        (Limits(max_pixels=64 * 48 - 1), False),
        (Limits(max_frames=3), True),
        (Limits(max_frames=2), False),
        (Limits(max_bytes=len(images.animated_gif())), True),
        (Limits(max_bytes=len(images.animated_gif()) - 1), False),
    ],
    ids=["pixels-at", "pixels-over", "frames-at", "frames-over", "bytes-at", "bytes-over"],
)
def test_limits_are_inclusive(limits: Limits, ok: bool) -> None:
    if ok:
        assert engine.render(images.animated_gif(), [ORIGINAL], limits).variants[0].width == 64
    else:
        with pytest.raises(ImageTooLarge):
            engine.render(images.animated_gif(), [ORIGINAL], limits)


def test_damaged_jpeg_header_is_corrupt_not_unsupported() -> None:
    # Given JPEG magic followed by an invalid marker byte and junk
    data = b"\xff\xd8\xff\x73" + images.random_bytes(400)
    # Then it is a damaged JPEG, not a format we do not accept
    with pytest.raises(PermanentError) as excinfo:
        engine.render(data, [ORIGINAL])
    assert type(excinfo.value) is CorruptImage, repr(excinfo.value)


# --------------------------------------------------------------------------- watermark


@pytest.fixture(scope="module")
def watermark_source() -> bytes:
    return images.photo_jpeg(640, 480)


def _with_and_without(
    data: bytes, mark: Watermark, fmt: str = "jpeg"
) -> tuple[engine.Rendition, engine.Rendition]:
    plain = render_one(data, VariantSpec(name="v", width=640, format=fmt))
    marked = render_one(data, VariantSpec(name="v", width=640, format=fmt, watermark=mark))
    return plain, marked


def test_text_watermark_changes_only_a_corner_band_and_keeps_the_size(watermark_source: bytes) -> None:
    plain, marked = _with_and_without(watermark_source, Watermark(text="imgpipe", opacity=1.0))
    assert (marked.width, marked.height) == (plain.width, plain.height) == (640, 480)
    box = changed_box(decode(plain.data), decode(marked.data))
    # default gravity is south-east: something changed, and only in the bottom quarter
    assert box is not None and box[1] >= 480 * 3 // 4 - 16, box


GRAVITY_REGION = {
    # (x range, y range) the overlay must stay inside, as fractions of the image
    "north-west": ((0, 0.5), (0, 0.5)),
    "north-east": ((0.5, 1), (0, 0.5)),
    "south-west": ((0, 0.5), (0.5, 1)),
    "south-east": ((0.5, 1), (0.5, 1)),
    "centre": ((0.2, 0.8), (0.3, 0.7)),
}


@pytest.mark.parametrize("gravity", ["north-west", "north-east", "south-west", "south-east", "centre"])
def test_text_watermark_lands_where_its_gravity_says(watermark_source: bytes, gravity: str) -> None:
    plain, marked = _with_and_without(
        watermark_source, Watermark(text="imgpipe", opacity=1.0, gravity=gravity)
    )
    box = changed_box(decode(plain.data), decode(marked.data))
    assert box is not None
    (x0, x1), (y0, y1) = GRAVITY_REGION[gravity]
    assert 640 * x0 <= box[0] and box[2] <= 640 * x1, box
    assert 480 * y0 <= box[1] and box[3] <= 480 * y1, box


def test_image_watermark_from_a_png_file(tmp_path: Path, watermark_source: bytes) -> None:
    # Given a yellow PNG logo on disk
    logo = tmp_path / "logo.png"
    logo.write_bytes(images.watermark_png(60, 30, (255, 230, 0)))
    plain, marked = _with_and_without(
        watermark_source, Watermark(image=logo, opacity=1.0, gravity="south-west")
    )
    # Then the variant keeps its size and a logo-sized yellow patch appears at the bottom
    assert (marked.width, marked.height) == (640, 480)
    box = changed_box(decode(plain.data), decode(marked.data))
    assert box is not None and box[1] >= 480 // 2, box
    assert 50 <= box[2] - box[0] <= 80 and 20 <= box[3] - box[1] <= 40, box
    centre = ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)
    assert near(rgb_at(decode(marked.data), centre), (255, 230, 0), 25)


def test_image_watermark_honours_opacity(tmp_path: Path) -> None:
    # Given a flat grey photo and a yellow logo at 50% opacity
    logo = tmp_path / "logo.png"
    logo.write_bytes(images.watermark_png(60, 30, (255, 230, 0)))
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (128, 128, 128)).save(buffer, "JPEG", quality=95)
    rendition = render_one(
        buffer.getvalue(), VariantSpec(name="v", format="png", watermark=Watermark(image=logo))
    )
    output = decode(rendition.data)
    box = changed_box(Image.new("RGB", output.size, (128, 128, 128)), output, threshold=20)
    assert box is not None
    centre = ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)
    # Then the patch is a half-and-half blend of yellow and grey, not solid yellow
    assert near(rgb_at(output, centre), (191, 179, 64), 20), rgb_at(output, centre)


def test_watermark_does_not_change_the_auto_format(watermark_source: bytes) -> None:
    plain, marked = _with_and_without(watermark_source, Watermark(text="imgpipe"), fmt="auto")
    assert plain.format == "jpeg"
    assert marked.format == plain.format


# --------------------------------------------------------------------------- output formats


@pytest.mark.parametrize(
    ("fmt", "pillow_format", "content_type", "magic"),
    [
        ("jpeg", "JPEG", "image/jpeg", lambda d: d[:3] == b"\xff\xd8\xff"),
        ("webp", "WEBP", "image/webp", lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP"),
        ("png", "PNG", "image/png", lambda d: d[:8] == images.PNG_SIGNATURE),
        ("avif", "AVIF", "image/avif", lambda d: d[4:8] == b"ftyp" and b"avif" in d[8:32]),
    ],
)
def test_output_formats_decode(
    fmt: str, pillow_format: str, content_type: str, magic: Callable[[bytes], bool]
) -> None:
    data = images.photo_jpeg(320, 240)
    rendition = render_one(data, VariantSpec(name="v", width=200, format=fmt))
    assert rendition.format == fmt and rendition.content_type == content_type
    assert magic(rendition.data)
    output = decode(rendition.data)
    assert output.format == pillow_format and output.size == (200, 150) == (rendition.width, rendition.height)
    reference = decode(data).resize((200, 150), Image.Resampling.LANCZOS)
    mean_error = ImageStat.Stat(ImageChops.difference(output.convert("RGB"), reference)).mean
    assert mean_error[0] < 10 and mean_error[1] < 10, mean_error


def test_quality_setting_reaches_the_encoder() -> None:
    # A PNG: a full-size variant of a web-ready JPEG keeps the upload's own stream instead
    data = images.photo_png(320, 240)
    low = render_one(data, VariantSpec(name="v", format="jpeg", quality=20))
    high = render_one(data, VariantSpec(name="v", format="jpeg", quality=95))
    assert len(low.data) * 2 < len(high.data)


def test_variants_come_back_in_spec_order() -> None:
    specs = [DEFAULT_VARIANTS[4], DEFAULT_VARIANTS[0], DEFAULT_VARIANTS[2]]
    result = engine.render(images.photo_jpeg(1000, 800), specs)
    assert [r.name for r in result.variants] == ["thumbnail", "original", "medium"]
    assert [(r.width, r.height) for r in result.variants] == [(150, 150), (1000, 800), (800, 640)]


def test_attention_crop_cascaded_from_an_earlier_variant() -> None:
    # the thumbnail is cut from the in-memory medium variant
    specs = [DEFAULT_VARIANTS[2], VariantSpec(name="t", width=200, height=200, fit="cover", crop="attention")]
    result = engine.render(images.photo_jpeg(1000, 600), specs)
    assert [decode(r.data).size for r in result.variants] == [(800, 480), (200, 200)]


@pytest.mark.parametrize("fixture", [images.photo_jpeg, images.photo_png], ids=["jpeg", "png"])
def test_attention_crop_decoded_straight_from_the_source(fixture: Callable[[int, int], bytes]) -> None:
    rendition = render_one(
        fixture(1000, 600), VariantSpec(name="t", width=200, height=200, fit="cover", crop="attention")
    )
    assert decode(rendition.data).size == (200, 200)


def test_corrupt_entropy_data_is_refused_not_rendered_grey() -> None:
    # Given a JPEG whose headers are intact but whose scan is cut by a stray end-of-image marker
    # in the middle (libjpeg only warns about this and fills the rest with grey)
    data = bytearray(images.photo_jpeg(800, 600))
    middle = len(data) // 2
    data[middle : middle + 2] = b"\xff\xd9"
    # When it is rendered, then the warning is a failure
    with pytest.raises(CorruptImage, match="Corrupt JPEG data"):
        engine.render(bytes(data), DEFAULT_VARIANTS)


@pytest.mark.parametrize("fixture", [images.animated_gif, images.rgba_png], ids=["gif", "png"])
def test_auto_picks_jpeg_when_the_alpha_band_is_opaque_everywhere(fixture: Callable[[], bytes]) -> None:
    # Given sources that decode with an alpha band: a GIF (always) and an RGBA PNG made opaque
    source = fixture() if fixture is images.animated_gif else _opaque_rgba_png()
    # When rendered with format auto, then the alpha band is dropped and JPEG chosen
    rendition = render_one(source, VariantSpec(name="v", width=64, height=64, format="auto"))
    assert rendition.format == "jpeg"
    assert decode(rendition.data).mode == "RGB"


def test_auto_keeps_webp_when_some_pixel_is_transparent() -> None:
    rendition = render_one(images.rgba_png(), VariantSpec(name="v", width=64, height=64, format="auto"))
    assert rendition.format == "webp"
    assert decode(rendition.data).mode == "RGBA"


def test_default_variants_flatten_alpha_into_jpeg() -> None:
    # Given an upload with transparency and the default variants (JPEG, DESIGN.md)
    result = engine.render(images.rgba_png(), DEFAULT_VARIANTS)
    # Then every variant is a JPEG whose transparent half is the white background
    assert {r.format for r in result.variants} == {"jpeg"}
    output = decode(result.variants[0].data)
    opaque, clear = _rgba_points()
    assert near(pixel(output, clear), (255, 255, 255), 10)
    assert near(pixel(output, opaque), images.RGBA_OPAQUE, 10)


def _opaque_rgba_png() -> bytes:
    image = Image.new("RGBA", (120, 90), (10, 120, 200, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_render_stops_at_the_next_variant_once_asked_to() -> None:
    # Given a caller that gives up after the first variant
    asked = []

    def should_stop() -> bool:
        asked.append(True)
        return len(asked) > 1

    # When rendering the default set, then the render stops instead of making the other four
    with pytest.raises(engine.RenderCancelled, match="stopped before variant"):
        engine.render(images.photo_jpeg(800, 600), DEFAULT_VARIANTS, should_stop=should_stop)
    assert len(asked) == 2


# --------------------------------------------------------------------------- error reasons across threads


def _libvips() -> ctypes.CDLL:
    with open("/proc/self/maps") as maps:
        path = next(line.split()[-1] for line in maps if "libvips" in line and ".so" in line)
    return ctypes.CDLL(path)


def _error_buffer() -> str:
    message: bytes = pyvips.ffi.string(pyvips.vips_lib.vips_error_buffer())
    return message.decode()


def test_a_render_leaves_libvips_error_buffer_alone(tmp_path: Path) -> None:
    # libvips keeps one error buffer per process. A render on one thread that cleared it would
    # wipe the reason of a render failing on another ("unable to copy to memory" instead of
    # "premature end of JPEG image"), so the engine must never clear it on a successful path.
    mark = tmp_path / "mark.png"
    mark.write_bytes(images.watermark_png())
    sources = [images.photo_jpeg(), images.rgba_png(), images.cmyk_jpeg(True), images.oriented_jpeg(6)]
    specs = [
        *DEFAULT_VARIANTS,
        VariantSpec(name="a", width=100, height=100, fit="cover", crop="attention"),
        VariantSpec(name="w", width=200, format="webp", watermark=Watermark(text="imgpipe")),
        VariantSpec(name="i", width=200, format="auto", watermark=Watermark(image=mark)),
    ]
    # Given another thread's error waiting in the buffer
    pyvips.vips_lib.vips_error_clear()
    _libvips().vips_error(b"elsewhere", b"%s", b"another thread's reason")
    try:
        # When renders of every kind succeed
        for source in sources:
            engine.render(source, specs)
        # Then that reason is still there for its own thread to report
        assert "another thread's reason" in _error_buffer()
    finally:
        pyvips.vips_lib.vips_error_clear()


def test_a_failing_render_keeps_its_reason_while_others_run() -> None:
    # Given good renders running on another thread
    stop = threading.Event()

    def others() -> None:
        while not stop.is_set():
            engine.render(images.photo_jpeg(640, 480), DEFAULT_VARIANTS)

    thread = threading.Thread(target=others)
    thread.start()
    try:
        # When a truncated JPEG fails again and again meanwhile
        reasons = set()
        for _ in range(20):
            with pytest.raises(CorruptImage) as failed:
                engine.render(images.truncated_jpeg(), DEFAULT_VARIANTS)
            reasons.add(str(failed.value))
    finally:
        stop.set()
        thread.join()
    # Then every failure names the decoder's reason (libjpeg-turbo's, given per call)
    assert reasons == {"jpeg image cannot be decoded: jpeg: Premature end of JPEG file"}


def test_libvips_info_messages_stay_out_of_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    # Given a consumer that logs at INFO, as the local stack's workers do
    caplog.set_level("INFO")
    # When a photo is rendered to every default size (libvips plans each resize at INFO)
    engine.render(images.photo_jpeg(1200, 900), DEFAULT_VARIANTS)
    # Then none of libvips' messages were logged
    assert [record.getMessage() for record in caplog.records if record.name == "pyvips"] == []
