"""The audit log's chain stays intact however long its lines, reading only its end to append."""

import hashlib
import json
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from reports.files import AuditLog, verify_audit_log


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=9000), min_size=1, max_size=12))
@example(["\x85", "\u2028"])
def test_lines_of_any_length_keep_the_chain(tmp_path_factory, notes: list[str]):
    log = AuditLog(tmp_path_factory.mktemp("audit") / "audit.jsonl")
    for note in notes:
        log.append("noted", object="x", note=note)
    assert verify_audit_log(log.path) == []
    assert log.path.read_bytes().count(b"\n") == len(notes)  # bytes: str.splitlines also splits at U+0085


def test_appending_reads_only_the_end(tmp_path: Path):
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append("first", object="a")
    log.path.write_bytes(b"x" * 5_000_000 + b"\n" + log.path.read_bytes())  # a long, old history
    log.append("second", object="b")
    problems = verify_audit_log(log.path)
    assert problems and not any(problem.startswith("line 3:") for problem in problems)  # the new line chains on


def test_a_torn_last_line_is_set_aside_and_the_chain_goes_on(tmp_path: Path):
    """A disk that fills (or a crash) during an append leaves half a JSON line. The next append
    moves it aside, records that as an event of its own, and the chain verifies."""
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append("round_started", object="2026-11", round="2026-11")
    whole = log.path.read_bytes()
    torn = b'{"actor": "ttp", "event": "file_rec'
    log.path.write_bytes(whole + torn)
    assert any("incomplete last line" in problem for problem in verify_audit_log(log.path))
    log.append("round_completed", object="2026-11", round="2026-11")
    assert verify_audit_log(log.path) == []
    lines = [json.loads(line) for line in log.path.read_bytes().splitlines()]
    assert [line["event"] for line in lines] == ["round_started", "audit_tail_torn", "round_completed"]
    aside = tmp_path / lines[1]["object"]
    assert aside.read_bytes() == torn
    assert lines[1]["torn_bytes"] == len(torn) and lines[1]["torn_sha256"] == hashlib.sha256(torn).hexdigest()
    from flows.resume import was_interrupted

    assert not was_interrupted(log.path, "2026-11")
