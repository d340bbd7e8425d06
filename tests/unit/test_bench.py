"""`make bench`: its options and the mistakes a user can make with them."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from loadtest.bench import child as bench_child
from loadtest.bench import rounds
from loadtest.bench import run as bench
from shared.variants import DEFAULT_VARIANTS, Format
from tests.fixtures import images
from worker.engine import RenderResult


def test_variants_default_to_the_workers_defaults() -> None:
    assert bench_child.variants(None) == DEFAULT_VARIANTS


@pytest.mark.parametrize("fmt", ["webp", "auto"])
def test_format_changes_only_the_format(fmt: Format) -> None:
    chosen = bench_child.variants(fmt)
    assert [s.format for s in chosen] == [fmt] * len(DEFAULT_VARIANTS)
    assert [s.model_copy(update={"format": "jpeg"}) for s in chosen] == list(DEFAULT_VARIANTS)


def test_a_child_times_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given two photos, one with transparency
    files = [tmp_path / "a.jpg", tmp_path / "b.png"]
    files[0].write_bytes(images.photo_jpeg(400, 300))
    files[1].write_bytes(images.rgba_png())
    # When a child process's work runs for the engine with format auto
    bench_child.child("engine", [str(f) for f in files], "auto")
    # Then it reports one timing per file
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["images"] == 2 and len(figures["seconds"]) == 2
    assert all(s > 0 for s in figures["seconds"]) and figures["rss_mb"] > 0


@pytest.mark.parametrize(("fmt", "expected"), [(None, "jpeg"), ("auto", "webp"), ("webp", "webp")])
def test_both_sides_encode_the_chosen_format(fmt: Format | None, expected: str) -> None:
    specs = bench_child.variants(fmt)
    engine_result = bench_child._renderer("engine", specs)(images.rgba_png())
    pillow_result = bench_child._renderer("pillow", specs)(images.rgba_png())
    # (a renderer's answer is typed `object`: each side's is the one its strategy returns)
    assert isinstance(engine_result, RenderResult) and isinstance(pillow_result, list)
    assert {r.format for r in engine_result.variants} == {expected}
    assert {(Image.open(io.BytesIO(out)).format or "").lower() for *_, out in pillow_result} == {expected}


def test_a_missing_corpus_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="corpus folder not found: .*nowhere"):
        bench.main(["--corpus", str(tmp_path / "nowhere")])


def test_a_corpus_without_images_says_which_suffixes_count(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(SystemExit, match=r"no images \(.*\.jpg.*\) in"):
        bench.main(["--corpus", str(tmp_path)])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "gif"], "invalid choice: 'gif'"),
        (["--format", "png"], "invalid choice: 'png'"),  # the baseline could not match it
        (["--format", "avif"], "invalid choice: 'avif'"),
        (["--rounds", "0"], "must be a whole number of at least 1, not '0'"),
        (["--rounds", "-1"], "must be a whole number of at least 1, not '-1'"),
        (["--rounds", "two"], "must be a whole number of at least 1, not 'two'"),
    ],
)
def test_a_bad_option_is_refused_by_name(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        bench.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("pin", "expected"), [(True, 1), (False, None)], ids=["pinned", "free"])
def test_one_thread_children_get_one_core_unless_told_otherwise(
    tmp_path: Path, pin: bool, expected: int | None
) -> None:
    # Given one small photo
    photo = tmp_path / "a.jpg"
    photo.write_bytes(images.photo_jpeg(320, 240))
    # When a one-thread strategy runs in its child process
    run = rounds.spawn("pillow", [photo], None, pin)
    # Then the child could use exactly one core when pinned, all of ours when not
    assert run.images == 1
    assert run.cores == (expected or len(os.sched_getaffinity(0)))


def test_engine_and_pillow_swap_places_every_other_round() -> None:
    assert rounds.order(1)[:2] == ["engine", "pillow"]
    assert rounds.order(2)[:2] == ["pillow", "engine"]
    assert sorted(rounds.order(2)) == sorted(rounds.STRATEGIES)


def test_the_headline_ratio_pairs_each_round() -> None:
    # Given a machine that slows down in round 2 for both sides alike
    def run(seconds: float) -> rounds.Run:
        return rounds.Run(images=10, seconds=[seconds], rss_mb=1, cores=1)

    runs = {"engine": [run(1.0), run(2.0), run(1.0)], "pillow": [run(1.6), run(3.2), run(1.7)]}
    # Then each round's own ratio counts: 1.6, 1.6 and 1.7
    assert rounds.paired_ratio(runs) == pytest.approx((1.6, 1.6))


def test_a_relative_corpus_is_named_absolutely_for_another_checkouts_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a corpus given relative to the current folder
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.jpg").write_bytes(b"\xff\xd8")
    monkeypatch.chdir(tmp_path)
    # When the bench lists it
    files = bench._corpus(Path("corpus"), tmp_path)
    # Then the children of `--against`, run in the other checkout, still find its files
    assert files == [tmp_path.resolve() / "corpus" / "a.jpg"]


def test_against_accepts_a_checkout_of_this_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a one-photo corpus, and this very checkout as the other one (loadtest/bench/ a package)
    (tmp_path / "a.jpg").write_bytes(images.photo_jpeg(320, 240))
    checkout = Path(__file__).resolve().parents[2]
    # When the bench runs against it for one round
    bench.main(["--corpus", str(tmp_path), "--against", str(checkout), "--rounds", "1"])
    # Then both sides ran and the ratio line is printed
    assert "against: full_set_images_per_s this=" in capsys.readouterr().out


def test_against_refuses_a_folder_that_is_no_checkout(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.photo_jpeg(320, 240))
    with pytest.raises(SystemExit, match="is not a checkout of this project"):
        bench.main(["--corpus", str(tmp_path), "--against", str(tmp_path), "--rounds", "1"])
