"""The generated round's outputs (plaintext side) are byte-identical to a committed digest list,
so that a change meant to keep the outputs (a refactoring) shows any byte it changes.

A change meant to change outputs regenerates the list, and the diff shows which files moved:

    WACHTLIJST_UPDATE_DIGESTS=1 .venv/bin/pytest tests/flows/test_output_digests.py
"""

import hashlib
import json
import os
from pathlib import Path

from tests.conftest import RoundRun
from tests.flows.test_rerun import snapshot

DIGESTS = Path(__file__).with_name("output_digests.json")
KEYED_SUMMARY_FIELDS = ("key_id", "key_version", "linkage")
"""run_summary.json fields that depend on the session's random key (its id; the model learnt on
keyed encodings, such as u from random pairs of Bloom filters), not on the data."""
KEYED_FILES = ("providers/ondertekening.pub",)
"""The TTP's public signing key, derived from the session's random key."""


def output_digests(run: RoundRun) -> dict[str, str]:
    """Return the SHA-256 of every plaintext output of ``run`` (see ``snapshot``), with the
    key-dependent fields of the run summary left out."""
    files = snapshot(run)
    summary = json.loads(files["run_summary.json"])
    for field in KEYED_SUMMARY_FIELDS:
        summary.pop(field, None)
    for detail in summary["files"]["details"]:  # of the inputs: a generated workbook carries the
        detail.pop("sha256")  # time it was made, so its hash and compressed size vary
        detail.pop("size")
    for name in KEYED_FILES:
        files.pop(name)
    del files["run_summary.json"]  # one digest per field, so that a failure names the field
    files |= {f"run_summary.json#{key}": json.dumps(value, sort_keys=True).encode() for key, value in summary.items()}
    return {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}


def test_outputs_of_the_generated_round_match_the_committed_digests(exact_round: RoundRun):
    found = output_digests(exact_round)
    if os.environ.get("WACHTLIJST_UPDATE_DIGESTS"):
        DIGESTS.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(DIGESTS.read_text(encoding="utf-8"))
    assert sorted(found) == sorted(expected), "the round writes other files than the list names"
    changed = [name for name in expected if found[name] != expected[name]]
    assert not changed, f"outputs changed: {changed}"
