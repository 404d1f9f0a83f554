"""The delivery guide's example files and reason codes stay true to what the pipeline does."""

import re
from pathlib import Path

from hashing.keys import create_key_file, load_key_file
from ingest.columns import ALL_COLUMNS, FILE_REASONS, FILE_REASONS_NL, ROW_REASONS, ROW_REASONS_NL, ROW_WARNINGS
from ingest.feedback import FEEDBACK_REASONS, FEEDBACK_REASONS_NL, OUTCOMES, stage_feedback
from ingest.inventory import inventory
from ingest.read import read_extract
from ingest.stage import stage_extract
from reports.providers import WARNINGS_NL
from sample_data.examples import EXAMPLE_REFERENCE_DATE, EXAMPLES_DIR, example_frame, write_examples

GUIDE = EXAMPLES_DIR.parent / "aanlevering.md"


def test_every_example_file_is_accepted_whole(tmp_path: Path):
    create_key_file(tmp_path / "ttp.key")
    key = load_key_file(tmp_path / "ttp.key")
    files = inventory(EXAMPLES_DIR)
    assert len(files) == 4
    for item in files:
        report = stage_extract(
            item.path, item.sha256, aliases={}, reference_date=EXAMPLE_REFERENCE_DATE, key=key,
            staging_dir=tmp_path / "staging", csv_encoding="auto",
        )  # fmt: skip
        assert (report.status, report.rows_received, report.rows_accepted) == ("accepted", 4, 4), item.path.name
        assert report.warnings["bsn_missing"] == 1 and report.warnings["bsn_invalid"] == 0


def test_committed_examples_equal_what_the_generator_writes(tmp_path: Path):
    fresh = {p.name: p for p in write_examples(tmp_path)}
    committed = sorted(p.name for p in EXAMPLES_DIR.iterdir())
    assert committed == sorted(fresh)
    for name, path in fresh.items():
        assert read_extract(EXAMPLES_DIR / name, {}).frame.equals(read_extract(path, {}).frame), name
    assert set(example_frame().columns) == set(ALL_COLUMNS)


def test_guide_explains_every_reason_code_and_column():
    guide = GUIDE.read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| (.+?) \|$", guide, flags=re.MULTILINE))
    for code in [*ROW_REASONS, *ROW_WARNINGS, *FILE_REASONS]:
        assert code in documented, code
    for code, text in ROW_REASONS_NL.items():
        assert documented[code] == text, code
    assert set(FILE_REASONS_NL) == set(FILE_REASONS), "every file reason has a Dutch explanation for afgewezen.csv"
    for code in WARNINGS_NL:
        assert f"`{code}`" in guide, code
    for column in ALL_COLUMNS:
        assert f"| `{column}` |" in guide, column
    for example in EXAMPLES_DIR.iterdir():
        assert f"(voorbeelden/{example.name})" in guide, example.name


FEEDBACK_GUIDE = EXAMPLES_DIR.parent / "terugmelding.md"
FEEDBACK_EXAMPLE = EXAMPLES_DIR.parent / "terugmelding_voorbeeld.csv"


def test_feedback_guide_explains_every_code_and_outcome_and_its_example_is_accepted(tmp_path: Path):
    guide = FEEDBACK_GUIDE.read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| (.+?) \|$", guide, flags=re.MULTILINE))
    for code, text in FEEDBACK_REASONS_NL.items():
        assert documented[code] == text, code
    assert set(FEEDBACK_REASONS) == set(FEEDBACK_REASONS_NL)
    for outcome in OUTCOMES:
        assert f"| `{outcome}` |" in guide, outcome
    assert f"({FEEDBACK_EXAMPLE.name})" in guide
    assert "(terugmelding.md)" in GUIDE.read_text(encoding="utf-8")
    create_key_file(tmp_path / "ttp.key")
    report = stage_feedback(FEEDBACK_EXAMPLE, "0" * 64, key=load_key_file(tmp_path / "ttp.key"), staging_dir=tmp_path)
    assert (report.status, report.rows_received, report.rows_rejected) == ("accepted", 4, 0)
