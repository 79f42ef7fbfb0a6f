"""Smoke test of the EM benchmark: it runs, prints its table and writes JSON.

No timing is asserted: the numbers depend on the machine and its load.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_em.py"


@pytest.mark.slow
def test_quick_benchmark_prints_ratios_and_writes_json(tmp_path):
    output = tmp_path / "em.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    stdout = completed.stdout
    assert "ratio" in stdout and "scikit-learn" in stdout
    assert "thread pools (threadpoolctl)" in stdout
    report = json.loads(output.read_text())
    kinds = {result["kind"] for result in report["results"]}
    assert kinds == {"iteration", "history", "seed", "memory"}
    for result in report["results"]:
        if result["kind"] == "iteration":
            assert result["ratio"] > 0
            assert result["gmm_lab"]["median_ms"] > 0 and result["sklearn"]["median_ms"] > 0
            # Same theta_t in, same theta_{t+1} out: the two did the same work.
            assert result["max_relative_difference"] < 1e-8
    assert report["environment"]["threadpools"]


def test_case_filter_and_list():
    completed = subprocess.run(
        [sys.executable, str(BENCHMARK), "--list", "--cases", "iter-n1520-*"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    names = completed.stdout.split()
    assert names and all(name.startswith("iter-n1520-") for name in names)
