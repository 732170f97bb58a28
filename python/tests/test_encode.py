import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import json
import math
import unittest

from optiscope.encode import encode_event


class EncodeTest(unittest.TestCase):
    def test_non_finite_numbers_become_protocol_strings(self):
        line = encode_event({"type": "step", "loss": math.nan, "a": [math.inf, -math.inf, 1.5], "n": {"x": 2}})
        self.assertNotIn("NaN,", line.replace('"NaN"', ""))
        value = json.loads(line)
        self.assertEqual(value["loss"], "NaN")
        self.assertEqual(value["a"], ["Infinity", "-Infinity", 1.5])
        self.assertEqual(value["n"], {"x": 2})

    def test_one_line(self):
        self.assertNotIn("\n", encode_event({"message": "two\nlines"}))


if __name__ == "__main__":
    unittest.main()
