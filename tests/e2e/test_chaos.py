"""The short chaos run: bench/chaos with 10 ordinary faults (a fixed seed, so a failure can be
run again as it was), on its own lab. Nothing durable lost, never two writable instances, never
one address on two containers, every fault converged."""
import os
import subprocess
import sys
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


class ChaosTest(unittest.TestCase):
    def test_ten_ordinary_faults_lose_nothing(self):
        env = {**os.environ, "FAULTS": os.environ.get("CHAOS_FAULTS", "10"),
               "SEED": os.environ.get("CHAOS_SEED", "20261127")}
        r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "chaos.py")], env=env,
                           capture_output=True, text=True, timeout=1800)
        print(r.stdout[-3000:])
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        summary = next(line for line in r.stdout.splitlines() if line.startswith("faults="))
        figures = dict(part.split("=") for part in summary.split())
        for name in ("lost_durable_writes", "double_writable_windows", "duplicate_addresses",
                     "unconverged", "stalled"):
            self.assertEqual(figures[name], "0", summary)


if __name__ == "__main__":
    unittest.main()
