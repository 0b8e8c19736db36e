"""Every ``lartpc-bench`` subcommand, run in-process through ``main``.

The module-scoped ``smoke_run`` fixture runs the main job once with the smoke preset (the
end-to-end test); the other commands reuse its split file, checkpoints and samples.
"""

import json
import shutil
import time

import h5py
import numpy as np
import pytest

from lartpcbench.bench.cli import main
from lartpcbench.datasets.splits import read_split, read_split_attrs

from conftest import draw_line_images, shared_data_file


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("datasets")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, data_dir):
    """Run `lartpc-bench run --preset smoke` once and return its run directory and wall time."""
    run_dir = tmp_path_factory.mktemp("smoke-run")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LARTPCBENCH_DATA", str(data_dir))
        start = time.perf_counter()
        assert main(["--no-progress", "run", "--preset", "smoke", "--run-dir", str(run_dir)]) == 0
        yield run_dir, time.perf_counter() - start


def test_run_smoke_writes_leaderboard(smoke_run):
    run_dir, wall_time = smoke_run
    board = (run_dir / "leaderboard" / "LEADERBOARD.md").read_text()
    for label in ("sgm", "gan", "flow", "reference"):
        assert label in board
    assert (run_dir / "leaderboard" / "index.html").is_file()
    results = sorted((run_dir / "results").rglob("*.json"))
    assert len(results) == 4
    record = json.loads(results[0].read_text())
    assert record["dataset"]["name"] == "sim64-smoke-v1"
    assert {"fd_physics"} <= {metric["name"] for metric in record["metrics"]}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["preset"] == "smoke"
    # NOTE: the five-minute target is checked by the perf report, not here; this bound only
    # catches a preset that grew by an order of magnitude.
    assert wall_time < 30 * 60


def test_run_smoke_reference_row_is_floor(smoke_run):
    run_dir, _ = smoke_run
    for model in ("sgm", "gan", "flow"):
        samples = np.load(run_dir / "models" / model / "samples.npy")
        assert samples.dtype == np.uint8
        assert samples.shape == (200, 64, 64)
    # Smoke models train for seconds, so their samples are rough; every one must score worse
    # than real held-out images on the physics Frechet distance.
    scores = {}
    for path in (run_dir / "results").rglob("*.json"):
        record = json.loads(path.read_text())
        metrics = {metric["name"]: metric["value"] for metric in record["metrics"]}
        scores[record["submission"]["kind"], record["submission"]["name"]] = metrics["fd_physics"]
    floor = scores.pop(("reference", "reference (real val)"))
    assert len(scores) == 3
    for key, value in scores.items():
        assert value > floor, f"{key} scores {value}, below the real-vs-real floor {floor}"


def test_run_resumes_without_retraining(smoke_run):
    run_dir, _ = smoke_run
    fit_report = run_dir / "models" / "gan" / "fit.json"
    before = fit_report.stat().st_mtime_ns
    assert main(["--no-progress", "run", "--preset", "smoke", "--models", "sgm,gan,flow", "--run-dir", str(run_dir)]) == 0
    assert fit_report.stat().st_mtime_ns == before


def test_run_refuses_directory_of_other_run(smoke_run, capsys):
    run_dir, _ = smoke_run
    code = main(["--no-progress", "run", "--preset", "smoke", "--set", "evaluation.seed=5", "--run-dir", str(run_dir)])
    assert code == 2
    assert "contains a run with different options" in capsys.readouterr().err


def test_data_build_and_info(smoke_run, data_dir, capsys):
    path = data_dir / "sim64-smoke-v1.h5"
    assert path.is_file()
    assert main(["data", "info", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["dataset"] == "sim64-smoke-v1"
    assert info["checksums_verified"] is True
    assert main(["data", "list"]) == 0
    assert "sim64-v1" in capsys.readouterr().out


def test_data_crop_microboone_and_smoke_run(tmp_path):
    planes = shared_data_file("microboone_ext_planes.npz")
    out = tmp_path / "microboone64.h5"
    assert main(["--no-progress", "data", "crop", str(planes), "--out", str(out), "--name", "microboone64"]) == 0
    sizes = read_split_attrs(out)["sizes"]
    assert sum(sizes.values()) >= 1500
    assert (read_split(out, "test").labels == -1).all()

    run_dir = tmp_path / "run"
    assert main(["--no-progress", "run", "--preset", "smoke", "--split-file", str(out), "--run-dir", str(run_dir)]) == 0
    board = (run_dir / "leaderboard" / "LEADERBOARD.md").read_text()
    assert "microboone64" in board
    assert len(list((run_dir / "results" / "microboone64").glob("*.json"))) == 4


def test_data_build_verifies_manifest(smoke_run, tmp_path, data_dir):
    out = tmp_path / "smoke.h5"
    assert main(["--no-progress", "data", "build", "sim64-smoke-v1", "--out", str(out), "--workers", "2"]) == 0
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(read_split(out, split).images, read_split(data_dir / "sim64-smoke-v1.h5", split).images)


def test_data_import_cli(tmp_path):
    np.save(tmp_path / "train_tracks.npy", draw_line_images(30, seed=0))
    np.save(tmp_path / "test_tracks.npy", draw_line_images(10, seed=1))
    out = tmp_path / "imported.h5"
    assert main(["data", "import", str(tmp_path / "train_tracks.npy"), str(tmp_path / "test_tracks.npy"), "--out", str(out)]) == 0
    assert read_split_attrs(out)["sizes"] == {"train": 27, "val": 3, "test": 10}


def test_bad_input_keeps_existing_file(tmp_path, capsys):
    out = tmp_path / "imported.h5"
    out.write_bytes(b"precious")
    np.save(tmp_path / "bad.npy", np.zeros((4, 32, 32), np.uint8))
    assert main(["data", "import", str(tmp_path / "bad.npy"), "--out", str(out)]) == 2
    assert "has shape (4, 32, 32); expected (N, 64, 64)" in capsys.readouterr().err
    np.save(tmp_path / "nan.npy", np.full((4, 64, 64), np.nan))
    assert main(["data", "import", str(tmp_path / "nan.npy"), "--out", str(out)]) == 2
    assert "NaN" in capsys.readouterr().err
    assert main(["data", "import", str(tmp_path / "absent.npy"), "--out", str(out)]) == 2
    assert "not found" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"


def test_unknown_model_error(capsys):
    assert main(["run", "--preset", "smoke", "--models", "transformer"]) == 2
    assert "unknown generator 'transformer'" in capsys.readouterr().err


def test_corrupted_split_file_error(tmp_path, smoke_run, data_dir, capsys):
    copy = tmp_path / "corrupt.h5"
    shutil.copy(data_dir / "sim64-smoke-v1.h5", copy)
    with h5py.File(copy, "r+") as handle:
        handle["train/images"][0, 0, 0] = 255 - handle["train/images"][0, 0, 0]
    assert main(["--no-progress", "run", "--preset", "smoke", "--split-file", str(copy), "--run-dir", str(tmp_path / "r")]) == 2
    assert "checksum mismatch for train/images" in capsys.readouterr().err


def test_sample_evaluate_submit_leaderboard(smoke_run, tmp_path, capsys):
    run_dir, _ = smoke_run
    samples = tmp_path / "gan.npy"
    assert main(["sample", "--model", "gan", "--checkpoint", str(run_dir / "models" / "gan" / "final"),
                 "--num-samples", "120", "--seed", "3", "--out", str(samples)]) == 0
    images = np.load(samples)
    assert images.shape == (120, 64, 64)
    assert images.dtype == np.uint8

    assert main(["--no-progress", "evaluate", str(samples), "--dataset", "sim64-smoke-v1", "--metrics", "fd_physics",
                 "--json", str(tmp_path / "scores.json")]) == 0
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores[0]["name"] == "fd_physics"
    assert scores[0]["n_generated"] == 120

    results_root = tmp_path / "store"
    assert main(["--no-progress", "submit", str(samples), "--name", "my-gan", "--dataset", "sim64-smoke-v1",
                 "--metrics", "fast", "--results-root", str(results_root)]) == 0
    assert len(list((results_root / "sim64-smoke-v1").glob("*.json"))) == 1
    assert main(["leaderboard", "--results-root", str(results_root), "--dataset", "sim64-smoke-v1", "--out", str(tmp_path / "site")]) == 0
    assert "my-gan" in (tmp_path / "site" / "LEADERBOARD.md").read_text()

    np.save(tmp_path / "few.npy", images[:5])
    assert main(["submit", str(tmp_path / "few.npy"), "--name", "x", "--dataset", "sim64-smoke-v1", "--results-root", str(results_root)]) == 2
    assert "5" in capsys.readouterr().err


def test_sample_with_sampling_settings(smoke_run, tmp_path, capsys):
    run_dir, _ = smoke_run
    sgm = str(run_dir / "models" / "sgm" / "final")
    out = tmp_path / "sde.npy"
    assert main(["sample", "--model", "sgm", "--checkpoint", sgm, "--num-samples", "6", "--out", str(out),
                 "--set", "sampler.name=dpm_solver_2m_sde", "--set", "sampler.steps=3"]) == 0
    default = tmp_path / "default.npy"
    assert main(["sample", "--model", "sgm", "--checkpoint", sgm, "--num-samples", "6", "--out", str(default)]) == 0
    assert np.load(out).shape == (6, 64, 64)
    assert not np.array_equal(np.load(out), np.load(default))
    capsys.readouterr()

    assert main(["sample", "--model", "sgm", "--checkpoint", sgm, "--out", str(tmp_path / "x.npy"),
                 "--set", "network.base_channels=8"]) == 2
    assert "'network' is not a sampling setting of SGMConfig; a trained model can change only: sampler" in capsys.readouterr().err
    assert main(["sample", "--model", "sgm", "--checkpoint", sgm, "--out", str(tmp_path / "x.npy"),
                 "--set", "sampler.name=euler"]) == 2
    assert "sampler.name is 'euler'" in capsys.readouterr().err
    assert main(["sample", "--model", "gan", "--checkpoint", str(run_dir / "models" / "gan" / "final"),
                 "--out", str(tmp_path / "x.npy"), "--set", "latent_dim=3"]) == 2
    assert "can change only: none" in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()


def test_samplers_command_writes_table(smoke_run, data_dir, tmp_path, capsys):
    run_dir, _ = smoke_run
    sgm = str(run_dir / "models" / "sgm" / "final")
    split_file = str(data_dir / "sim64-smoke-v1.h5")
    out = tmp_path / "samplers.md"
    assert main(["samplers", sgm, "--split-file", split_file, "--num-samples", "8", "--grid", "ddim=2",
                 "--grid", "dpm_solver_2m_sde=2", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| ddim" in text
    assert "| dpm_solver_2m_sde" in text
    assert "no 1,000-step Euler-Maruyama row" in text

    assert main(["samplers", sgm, "--split-file", split_file, "--grid", "euler=2", "--out", str(tmp_path / "x.md")]) == 2
    assert "unknown sampler" in capsys.readouterr().err
    assert not (tmp_path / "x.md").exists()


def test_sample_truncated_checkpoint(smoke_run, tmp_path, capsys):
    run_dir, _ = smoke_run
    checkpoint = tmp_path / "final"
    shutil.copytree(run_dir / "models" / "gan" / "final", checkpoint)
    state = checkpoint / "state.pt"
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    assert main(["sample", "--model", "gan", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "x.npy")]) == 2
    assert "truncated" in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()


def test_train_and_ablate_and_models(smoke_run, tmp_path, capsys):
    assert main(["models"]) == 0
    assert "sgm" in capsys.readouterr().out
    assert main(["--no-progress", "train", "--preset", "smoke", "--models", "gan", "--set", "models.gan.train.steps=3",
                 "--out", str(tmp_path / "trained")]) == 0
    assert (tmp_path / "trained" / "gan" / "final" / "checkpoint.json").is_file()
    assert main(["--no-progress", "ablate", "--preset", "smoke", "--vary", "models.gan.train.steps=2,4",
                 "--set", "evaluation.num_samples=32", "--run-dir", str(tmp_path / "ablation")]) == 0
    table = (tmp_path / "ablation" / "leaderboard" / "results.csv").read_text()
    assert "gan[steps=2]" in table
    assert "gan[steps=4]" in table


def test_perf_smoke_report(tmp_path):
    out = tmp_path / "PERF.md"
    assert main(["perf", "--scale", "smoke", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Performance benchmark")


def test_data_card_and_segnet(smoke_run, data_dir, tmp_path, capsys):
    split_file = data_dir / "sim64-smoke-v1.h5"
    card = tmp_path / "card.md"
    assert main(["data", "card", str(split_file), "--out", str(card), "--image-dir", str(tmp_path / "img")]) == 0
    assert "sim64-smoke-v1" in card.read_text()
    assert list((tmp_path / "img").glob("*.png"))
    capsys.readouterr()

    assert main(["segnet", "evaluate", str(split_file)]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["split"] == "test"
    assert main(["--no-progress", "segnet", "train", "--split-file", str(split_file), "--steps", "3",
                 "--out", str(tmp_path / "segnet")]) == 0
    assert (tmp_path / "segnet").is_dir()
