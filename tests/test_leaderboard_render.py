"""Leaderboard rendering from result files: Markdown, CSV, HTML escaping, PNGs and determinism."""

from __future__ import annotations

import html.parser
import io
import json

import matplotlib
import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from lartpcbench.leaderboard import ResultValidationError, decode_preview, render_leaderboard, write_result
from lartpcbench.leaderboard.plots import GRID_GAP, GRID_SCALE, sample_grid_png
from lartpcbench.leaderboard.table import format_count, format_measurement, format_number

from test_leaderboard_records import make_record

GAN_NAME = "GAN <b>tiny</b> | x"


def write_fixture_results(root) -> dict[str, str]:
    """Write four results (one reference, one with a null primary metric); return name -> run id."""
    records = [
        make_record("SGM small", 9.5, seed=0, auc=0.6),
        make_record(GAN_NAME, 20.0, family="gan", seed=1, auc=0.9, images_per_second=2000, num_parameters=50_000),
        make_record("Flow", None, family="flow", seed=2, auc=0.95, images_per_second=300),
        make_record("Real val", 0.8, kind="reference", seed=3, auc=0.52),
    ]
    # One result lacks a metric that the others have.
    records[2]["metrics"] = [m for m in records[2]["metrics"] if m["name"] != "lit_pixels_w1"]
    records[2]["provenance"]["metric_versions"].pop("lit_pixels_w1")
    return {record["submission"]["name"]: write_result(record, root).stem for record in records}


def table_rows(markdown: str) -> list[list[str]]:
    """Return the cells of the first Markdown table's body rows."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    body = lines[2 : lines.index(next(line for line in lines[2:] if line.startswith("| Metric")))]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in body]


@pytest.fixture()
def rendered(tmp_path):
    root = tmp_path / "results"
    run_ids = write_fixture_results(root)
    written = render_leaderboard(root, "sim64-v1", tmp_path / "site")
    return written, run_ids, root


def test_markdown_sorted_by_primary_metric(rendered):
    written, _, _ = rendered
    rows = table_rows(written["markdown"].read_text())
    assert [row[1] for row in rows] == [
        "Real val (real-vs-real floor)",
        "SGM small",
        r"GAN \<b\>tiny\</b\> \| x",
        "Flow",
    ]
    assert [row[0] for row in rows] == ["floor", "1", "2", "3"]


def test_markdown_cells_formatted(rendered):
    written, _, _ = rendered
    text = written["markdown"].read_text()
    rows = {row[1]: row for row in table_rows(text)}
    sgm = rows["SGM small"]
    assert sgm[2:6] == ["diffusion", "1.23M", "50", "1000"]
    assert sgm[6] == "9.50 ± 0.25 [9.25, 9.75]"
    assert sgm[7] == "0.600 ± 0.020 [0.580, 0.620]"
    assert rows["Flow"][6] == "n/a"
    assert rows["Flow"][8] == "-"
    assert rows["Real val (real-vs-real floor)"][3] == "-"
    assert "| fd_physics ↓" in text
    assert "c2st_auc ↑" in text
    assert "Sorted by `fd_physics` (lower is better)" in text


def test_higher_is_better_primary(tmp_path):
    root = tmp_path / "results"
    write_fixture_results(root)
    written = render_leaderboard(root, "sim64-v1", tmp_path / "site", primary_metric="c2st_auc")
    rows = table_rows(written["markdown"].read_text())
    assert [row[1].split(" ")[0] for row in rows] == ["Flow", "GAN", "SGM", "Real"]
    assert rows[0][6].startswith("0.950 ± 0.020")


def test_unknown_primary_metric_lists_known(tmp_path):
    root = tmp_path / "results"
    write_fixture_results(root)
    with pytest.raises(ValueError, match=r"choose one of \['c2st_auc', 'fd_physics', 'lit_pixels_w1'\]"):
        render_leaderboard(root, "sim64-v1", tmp_path / "site", primary_metric="fid")


def test_empty_results_folder(tmp_path):
    (tmp_path / "results" / "sim64-v1").mkdir(parents=True)
    with pytest.raises(ValueError, match="no result files"):
        render_leaderboard(tmp_path / "results", "sim64-v1", tmp_path / "site")


def test_format_measurement_cases():
    cases = [
        ((9.123, 8.8, 9.46), "9.12 ± 0.33 [8.80, 9.46]"),
        ((48.0, 40.0, 56.0), "48.0 ± 8.0 [40.0, 56.0]"),
        ((1234.0, 900.0, 1500.0), "1234 ± 300 [900, 1500]"),
        ((0.5, 0.5, 0.5), "0.5 [0.5, 0.5]"),
        ((2.0e-5, 1.0e-5, 3.0e-5), "2e-05 ± 1e-05 [1e-05, 3e-05]"),
        ((0.0123, 0.0113, 0.0133), "0.0123 ± 0.0010 [0.0113, 0.0133]"),
        ((3.0e8, 2.0e8, 4.0e8), "3e+08 ± 1e+08 [2e+08, 4e+08]"),
        ((0.25, None, None), "0.25"),
        ((None, None, None), "n/a"),
    ]
    for arguments, expected in cases:
        assert format_measurement(*arguments) == expected, arguments


def test_format_number_and_count():
    assert format_number(1234.5) == "1234"
    assert format_number(0.0001234) == "1.234e-04"
    assert format_number(float("nan")) == "n/a"
    assert format_number(0) == "0"
    assert [format_count(n) for n in (None, 512, 12_345, 4_560_000, 1_200_000_000)] == [
        "-", "512", "12.3k", "4.56M", "1.2B"
    ]


def test_csv_has_raw_numbers(rendered):
    written, run_ids, _ = rendered
    frame = pd.read_csv(written["csv"])
    assert list(frame["run_id"]) == [run_ids[name] for name in ("Real val", "SGM small", GAN_NAME, "Flow")]
    sgm = frame[frame["name"] == "SGM small"].iloc[0]
    assert sgm["fd_physics"] == 9.5
    assert sgm["fd_physics_ci_low"] == 9.25
    assert sgm["num_parameters"] == 1234567
    text = written["csv"].read_text()
    assert "1234567," in text
    assert "1234567.0" not in text
    assert pd.isna(frame[frame["name"] == "Flow"].iloc[0]["fd_physics"])
    assert frame["rank"].astype(str).tolist() == ["floor", "1", "2", "3"]


class _PageParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.rows = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag == "tr" and dict(attrs).get("data-run-id"):
            self.rows += 1


def test_html_escapes_strings(tmp_path):
    root = tmp_path / "results"
    write_fixture_results(root)
    hostile = make_record('</script><script>alert("x")</script>', 5.0, seed=4, created_utc="2024-05-03T00:00:00Z")
    hostile["submission"]["config"] = {"note": "<img src=x onerror=alert(1)>"}
    write_result(hostile, root)
    written = render_leaderboard(root, "sim64-v1", tmp_path / "site")
    page = written["html"].read_text()
    assert "<b>tiny" not in page
    assert "&lt;b&gt;tiny&lt;/b&gt; | x" in page
    assert '<script>alert("x")' not in page
    assert "<img src=x" not in page
    parser = _PageParser()
    parser.feed(page)
    assert parser.tags.count("script") == 1
    assert "b" not in parser.tags
    assert parser.rows == 5


def test_html_references_written_images(rendered):
    written, run_ids, _ = rendered
    parser = _PageParser()
    parser.feed(written["html"].read_text())
    site = written["html"].parent
    expected = {str(path.relative_to(site)) for key, path in written.items() if key.startswith(("grid:", "histogram:"))}
    assert set(parser.images) == expected
    assert len(expected) == 5
    # The real-image grid comes first.
    assert parser.images[0].startswith("images/real-")


def test_sample_grid_pixels(rendered):
    written, run_ids, root = rendered
    record = json.loads((root / "sim64-v1" / f"{run_ids['SGM small']}.json").read_text())
    images = decode_preview(record)
    grid = matplotlib.image.imread(io.BytesIO(written[f"grid:{run_ids['SGM small']}"].read_bytes()))
    cell = 64 * GRID_SCALE
    assert grid.shape[:2] == (2 * cell + 3 * GRID_GAP, 6 * cell + 7 * GRID_GAP)
    # Image 7 sits in row 1, column 1; compare its pixels with the colormap of the preview.
    top = left = GRID_GAP + cell + GRID_GAP
    tile = grid[top : top + cell : GRID_SCALE, left : left + cell : GRID_SCALE, :3]
    expected = matplotlib.colormaps["inferno"](images[7] / 255.0)[..., :3]
    np.testing.assert_allclose(tile, expected, atol=1 / 255)
    # Gaps are white.
    np.testing.assert_array_equal(grid[0, :, :3], 1.0)


def test_sample_grid_single_image():
    png = sample_grid_png(np.zeros((1, 64, 64), dtype=np.uint8))
    grid = matplotlib.image.imread(io.BytesIO(png))
    assert grid.shape[:2] == (64 * GRID_SCALE + 2 * GRID_GAP,) * 2


def test_render_is_deterministic(tmp_path):
    root = tmp_path / "results"
    write_fixture_results(root)
    first = render_leaderboard(root, "sim64-v1", tmp_path / "one")
    second = render_leaderboard(root, "sim64-v1", tmp_path / "two")
    assert first.keys() == second.keys()
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes(), key
    assert not list((tmp_path / "one").rglob(".*.tmp"))


def test_failed_render_keeps_previous_output(rendered):
    written, run_ids, root = rendered
    before = {key: path.read_bytes() for key, path in written.items()}
    path = root / "sim64-v1" / f"{run_ids['Flow']}.json"
    record = json.loads(path.read_text())
    record["metrics"][0]["lower_is_better"] = "yes"
    path.write_text(json.dumps(record))
    with pytest.raises(ResultValidationError, match="lower_is_better"):
        render_leaderboard(root, "sim64-v1", written["html"].parent)
    for key, content in before.items():
        assert written[key].read_bytes() == content, key


def test_time_capped_model_is_marked(tmp_path):
    root = tmp_path / "results"
    capped = make_record("capped", 5.0, seed=4)
    capped["submission"]["train_config"]["steps"] = 2500
    capped["training"]["steps"] = 504
    capped["training"]["stopped_early"] = True
    write_result(capped, root)
    write_result(make_record("full", 6.0, seed=5), root)
    written = render_leaderboard(root, "sim64-v1", tmp_path / "site")
    names = [row[1] for row in table_rows(written["markdown"].read_text())]
    assert names == ["capped (time cap at 504 of 2,500 steps)", "full"]
    assert "capped (time cap at 504 of 2,500 steps)" in written["html"].read_text()
