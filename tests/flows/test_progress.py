import subprocess
import sys
from pathlib import Path

import pytest

from flows import progress


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="write counters come from Linux /proc")
def test_a_stage_counts_the_bytes_it_and_its_child_processes_write(tmp_path: Path):
    timings: dict[str, float] = {}
    written: dict[str, int] = {}
    megabyte = b"x" * 2**20
    target = str(tmp_path / "child")
    child = f"import os; f = open({target!r}, 'wb'); f.write(b'x' * 3 * 2**20); f.flush(); os.fsync(f.fileno())"
    with progress.stage("schrijven", timings=timings, written=written):
        (tmp_path / "own").write_bytes(megabyte * 2)
        subprocess.run([sys.executable, "-c", child], check=True)
    assert 5 * 2**20 <= written["schrijven"] < 6 * 2**20
    assert timings["schrijven"] > 0
    with progress.stage("lezen", written=written):
        (tmp_path / "own").read_bytes()
    assert written["lezen"] < 2**20
