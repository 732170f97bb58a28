"""Running a test's training script in its own temporary folder under the bridge, and reading its log:
shared by the tests that compare whole runs (test_offload, test_relayout)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(script: str, log: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """The script under `python -m optiscope.run` (with WATCH in env: plain python, the script watches
    itself), every step monitored, no automatic probes."""
    # One BLAS thread: Debian's OpenBLAS otherwise takes every core and the helper is not used.
    e = dict(os.environ, PYTHONPATH=PACKAGE, OPTISCOPE_LOG=log, OPTISCOPE_EVERY="1", OPTISCOPE_PROBE_BUDGET="0",
             OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    e.update(env)
    cmd = [sys.executable, script] if "WATCH" in env else [sys.executable, "-m", "optiscope.run", script]
    return subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout)


def events(log: str) -> list:
    with open(log, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.endswith("\n")]


class ScriptCase(unittest.TestCase):
    """A test case whose SCRIPT is written to train.py in a fresh temporary folder (self.dir, self.script)."""
    SCRIPT = ""

    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.script = os.path.join(self.dir.name, "train.py")
        with open(self.script, "w", encoding="utf-8") as f:
            f.write(self.SCRIPT)

    def tearDown(self) -> None:
        self.dir.cleanup()
