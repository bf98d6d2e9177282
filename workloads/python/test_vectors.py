"""Runs every Python workload natively (``python3 -m unittest test_vectors``
in this folder) against the golden vectors in ../vectors, with an in-memory
stand-in for the ``_bb`` built-in module the C glue provides in Wasm.

The stand-in keeps state and etags the way Dapr's first-write concurrency
does (ABI "Imports"), so counter and aggregate are checked too; the Wasm
modules themselves are checked on every runtime by ``blueprint-bench
conformance``."""

import base64
import importlib.util
import json
import os
import sys
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "vectors")


class FakeDapr(types.ModuleType):
    """``_bb`` over a dict: values, etags (a write counter) and published events."""

    def __init__(self):
        super().__init__("_bb")
        self.values, self.etags, self.published = {}, {}, []

    def state_get(self, store, key):
        if key not in self.values:
            return -1
        return (str(self.etags[key]), self.values[key])

    def state_set(self, store, key, value, etag, concurrency):
        if concurrency == 1:
            exists = key in self.values
            if (etag == "" and exists) or (etag != "" and (not exists or str(self.etags[key]) != etag)):
                return -2
        self.values[key] = value
        self.etags[key] = self.etags.get(key, 0) + 1
        return 0

    def publish(self, pubsub, topic, data, content_type):
        self.published.append((pubsub, topic, data))
        return 0


def load_workload(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decode(case, text, b64):
    return base64.b64decode(case[b64]) if b64 in case else case[text].encode()


class Vectors(unittest.TestCase):
    def check(self, name):
        dapr = FakeDapr()
        sys.modules["_bb"] = dapr
        sys.modules.pop("blueprint", None)
        sys.path.insert(0, HERE)
        try:
            import blueprint

            workload = load_workload(name)
            with open(os.path.join(VECTORS, f"{name}.json")) as f:
                vectors = json.load(f)
            for case in vectors["cases"]:
                with self.subTest(case=case["name"]):
                    ok, out = blueprint._serve(workload.handle, decode(case, "input", "input_base64"))
                    if "error" in case:
                        self.assertEqual((ok, out.decode()), (False, case["error"]))
                    else:
                        self.assertEqual((ok, out), (True, decode(case, "output", "output_base64")))
            for key, value in vectors.get("final_state", {}).items():
                self.assertEqual(dapr.values.get(key, b"").decode(), value, f"final state of {key}")
        finally:
            sys.path.remove(HERE)

    def test_every_workload_with_a_python_implementation(self):
        names = sorted(n[:-5] for n in os.listdir(VECTORS) if n.endswith(".json"))
        found = [n for n in names if os.path.isfile(os.path.join(HERE, n, f"{n}.py"))]
        self.assertIn("counter", found)
        for name in found:
            with self.subTest(workload=name):
                self.check(name)


if __name__ == "__main__":
    unittest.main()
