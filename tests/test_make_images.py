"""docs/make_images.py draws the README's pictures; the committed ones stay small PNGs."""
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.test_examples import assert_pngs, example_env, mnist_folder

SCRIPT = ROOT / "docs" / "make_images.py"
IMAGES = ROOT / "docs" / "images"
PICTURES = ("learning_curves.png", "mistakes.png", "benchmark.png")
MAX_BYTES = 150_000
TIMEOUT = 300


def make_images(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=example_env(),
                          capture_output=True, text=True, timeout=TIMEOUT)


def test_committed_pictures_are_small_pngs():
    assert_pngs(IMAGES, *PICTURES)
    for name in PICTURES:
        assert (IMAGES / name).stat().st_size < MAX_BYTES, f"{name} is too big for the README"


def test_draws_all_three_from_mnist_and_a_saved_benchmark(tmp_path):
    pytest.importorskip("matplotlib")
    folder = mnist_folder()
    if folder is None:
        pytest.skip("real MNIST not available: set FASTNN_DATA to the folder holding the MNIST IDX files")
    result = make_images("--out", str(tmp_path), "--data", str(folder), "--samples", "2000",
                         "--epochs", "1", "--bench-json", str(IMAGES / "benchmark.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "trained on 2000 MNIST digits for 1 epochs" in result.stdout
    assert_pngs(tmp_path, *PICTURES)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(PICTURES)


def test_skip_bench_draws_no_chart(tmp_path):
    folder = mnist_folder()
    if folder is None:
        pytest.skip("real MNIST not available: set FASTNN_DATA to the folder holding the MNIST IDX files")
    result = make_images("--out", str(tmp_path), "--data", str(folder), "--samples", "500",
                         "--epochs", "1", "--skip-bench")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["learning_curves.png", "mistakes.png"]


@pytest.mark.parametrize("content, message", [
    ("not json", "is not JSON"),
    ('{"training": []}', "is not the output of `fastnn bench --json`"),
], ids=["not-json", "other-json"])
def test_a_bad_benchmark_file_is_one_line_before_any_training(tmp_path, content, message):
    bad = tmp_path / "bench.json"
    bad.write_text(content)
    result = make_images("--out", str(tmp_path / "out"), "--bench-json", str(bad))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("make_images.py: error: --bench-json: ")
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_mnist_is_one_line(tmp_path):
    result = make_images("--out", str(tmp_path), "--data", str(tmp_path / "nowhere"),
                         "--skip-bench", "--no-download")
    assert result.returncode == 2
    assert result.stderr.startswith("make_images.py: error: MNIST files missing from ")
