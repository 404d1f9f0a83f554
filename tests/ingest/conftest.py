from pathlib import Path

import pytest

HEADER = "agb_code;client_id;bsn;geboortedatum;achternaam;uzovi;sector;aanmelddatum;wachtfase"
GOOD_ROW = "22000001;C1;999999151;1980-05-17;Jansen;3311;ggz;2026-09-01;aanmelding"


@pytest.fixture
def write_csv(tmp_path: Path):
    def write(text: str, name: str = "extract.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write
