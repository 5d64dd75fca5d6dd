"""The tutorial's data and the demo's report."""
import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_iris

from clogreg import demo, load_tutorial_data

LINE = re.compile(r"^Epoch: (\d+) \| Accuracy: (\d+\.\d{4}) \| Cost: (\d+\.\d{4})$")


def test_tutorial_data_is_the_standardised_two_class_subset():
    X_train, X_test, y_train, y_test = load_tutorial_data()
    assert X_train.shape == (80, 2) and X_test.shape == (20, 2)
    X = np.vstack([X_train, X_test])
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1.0, rtol=1e-12)
    raw = load_iris().data[:100, :2]
    standardised = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    # the same rows as the standardised first 100 iris rows, each once
    def by_rows(a):
        return a[np.lexsort(a.T[::-1])]
    np.testing.assert_allclose(by_rows(X), by_rows(standardised), rtol=1e-12)
    assert np.bincount(np.concatenate([y_train, y_test])).tolist() == [50, 50]
    again = load_tutorial_data()
    np.testing.assert_array_equal(again[0], X_train)
    assert not np.array_equal(load_tutorial_data(random_state=1)[0], X_train)


def run_demo(*args):
    out = subprocess.run([sys.executable, "-m", "clogreg.demo", *args], check=True,
                         capture_output=True, text=True).stdout
    return out.splitlines()


def test_demo_reproduces_the_tutorial_report():
    lines = run_demo()
    epochs = [LINE.match(line) for line in lines[:20]]
    assert all(epochs), lines[:20]
    assert [int(m.group(1)) for m in epochs] == list(range(20))
    costs = [float(m.group(3)) for m in epochs]
    assert costs[0] == round(80 * np.log(2), 4) == 55.4518
    assert all(b < a for a, b in zip(costs, costs[1:]))
    # all p = 0.5 at epoch 0, every row predicted class 0: accuracy = share of 0s
    y_train = load_tutorial_data()[2]
    assert float(epochs[0].group(2)) == pytest.approx(100 * np.mean(y_train == 0), abs=1e-4)
    assert lines[20].startswith("Weights") and lines[22].startswith("Bias")
    assert lines[-1] == "Validation Accuracy: 100.0000"


def test_demo_options():
    lines = run_demo("--epochs", "5", "--lr", "0.01", "--seed", "3")
    assert sum(bool(LINE.match(line)) for line in lines) == 5
    assert lines[0].endswith("| Cost: 55.4518")
    assert lines[-1].startswith("Validation Accuracy: ")


def test_demo_plot(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "demo.png"
    assert demo.main(["--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_plot_without_matplotlib(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now fails
    assert demo.main(["--plot", str(tmp_path / "x.png")]) == 1
    assert "pip install 'clogreg[plot]'" in capsys.readouterr().err
