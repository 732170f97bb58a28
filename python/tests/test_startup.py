"""Start-up: under Optiscope's launcher (PYTHONDONTWRITEBYTECODE set, the event pipe given) the package's
compiled modules are kept in the user's cache folder, not compiled again at every start; the script's own
modules keep Python's rules (no bytecode written for them)."""
import os
import subprocess
import sys
import tempfile
import unittest

from .script_runs import PACKAGE

SCRIPT = "import helper_module\nprint('ran', helper_module.VALUE)\n"


class BytecodeCacheTest(unittest.TestCase):
    def run_script(self, cache: str, work: str) -> subprocess.CompletedProcess:
        with open(os.devnull, "wb") as events:
            env = dict(os.environ, PYTHONPATH=PACKAGE, PYTHONDONTWRITEBYTECODE="1", XDG_CACHE_HOME=cache,
                       OPTISCOPE_EVENT_FD=str(events.fileno()))
            return subprocess.run([sys.executable, "-m", "optiscope.run", os.path.join(work, "train.py")], env=env,
                                  capture_output=True, text=True, timeout=120, pass_fds=(events.fileno(),))

    def test_the_package_is_compiled_once_and_the_script_is_left_alone(self):
        with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as work:
            with open(os.path.join(work, "train.py"), "w", encoding="utf-8") as f:
                f.write(SCRIPT)
            with open(os.path.join(work, "helper_module.py"), "w", encoding="utf-8") as f:
                f.write("VALUE = 42\n")
            r = self.run_script(cache, work)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("ran 42", r.stdout)
            compiled = [os.path.join(d, n) for d, _, names in os.walk(cache) for n in names if n.endswith(".pyc")]
            mine = {os.path.basename(p).split(".")[0] for p in compiled if os.sep + "optiscope" + os.sep in p.split("pycache", 1)[1]}
            self.assertTrue({"hooks", "monitor", "offload", "stats", "channel"} <= mine, sorted(mine))
            # The script's module: no bytecode, neither in the cache nor next to it (PYTHONDONTWRITEBYTECODE holds).
            self.assertFalse([p for p in compiled if "helper_module" in p])
            self.assertFalse(os.path.exists(os.path.join(work, "__pycache__")))
            # A second start reads what the first wrote (same files, not rewritten).
            stamps = {p: os.stat(p).st_mtime_ns for p in compiled}
            r = self.run_script(cache, work)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual({p: os.stat(p).st_mtime_ns for p in stamps}, stamps)


if __name__ == "__main__":
    unittest.main()
