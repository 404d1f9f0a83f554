import datetime as dt

import numpy as np
import pytest

from linkage.blocking import BLOCKING_KEYS
from linkage.comparisons import FIELDS
from linkage.estimation import estimate_m_by_em, pattern_probabilities
from linkage.store import query_frame
from tests.linkage.conftest import background, person, valid_bsn

BORN = dt.date(1975, 3, 8)


def candidate_passes(con) -> dict[tuple[str, str], set[str]]:
    frame = query_frame(
        con,
        "SELECT a.client_id AS x, b.client_id AS y, c.pass FROM candidate_passes AS c "
        "JOIN entry_facts AS a ON a.entry_id = c.l JOIN entry_facts AS b ON b.entry_id = c.r",
    )
    found: dict[tuple[str, str], set[str]] = {}
    for x, y, name in frame.iter_rows():
        found.setdefault(tuple(sorted((x, y))), set()).add(name)
    return found


def test_each_blocking_pass_finds_what_it_is_for(link):
    rows = [
        *background(60),
        person("22000001", "A1", valid_bsn(98_000_001), "Dijkstra", "Noor", BORN, "1234AB"),
        person("22000002", "S1", None, "Dijkstra", "Noor", dt.date(1975, 8, 3), "9999ZZ"),  # day and month swapped
        person("22000002", "Y1", None, "Dijkstra", "Noor", dt.date(1957, 3, 9), "1234AB"),  # wrong year and day
        person("22000002", "N1", None, "Noor", "Dijkstra", dt.date(1975, 1, 1), "5555XX"),  # names swapped
        # another surname, a wrong birth date, two digits of the postcode transposed
        person("22000002", "T1", None, "Jansen", "Noor", dt.date(1980, 5, 5), "1243AB"),
    ]
    found = candidate_passes(link(rows))
    assert "geboortejaar_achternaam" in found[("A1", "S1")]
    assert found[("A1", "T1")] == {"postcode_verwisseld"}
    assert {"postcode_achternaam", "postcode_voornaam"} <= found[("A1", "Y1")]
    assert "namen_verwisseld" in found[("A1", "N1")]
    assert "geboortedatum" not in found[("A1", "N1")]
    assert all(name in BLOCKING_KEYS for names in found.values() for name in names)


def test_em_recovers_m_with_u_fixed():
    rng = np.random.default_rng(1)
    m_true = {"sn": [0.05, 0.05, 0.1, 0.8], "fn": [0.1, 0.1, 0.1, 0.7], "dob": [0.05, 0.05, 0.1, 0.8],
              "pc": [0.2, 0.1, 0.7], "sex": [0.05, 0.95]}  # fmt: skip
    u = {"sn": [0.97, 0.02, 0.007, 0.003], "fn": [0.95, 0.03, 0.01, 0.01], "dob": [0.99, 0.009, 0.0005, 0.0005],
         "pc": [0.99, 0.008, 0.002], "sex": [0.5, 0.5]}  # fmt: skip
    rows = []
    for is_match, n in ((True, 3000), (False, 30000)):
        table = m_true if is_match else u
        rows.append(np.column_stack([rng.choice(len(table[f]), n, p=table[f]) for f in FIELDS]))
    patterns = np.vstack(rows)
    unique, counts = np.unique(patterns, axis=0, return_counts=True)
    m, share = estimate_m_by_em(unique, counts.astype(float), frozenset({"sn", "fn", "pc"}), u, 200)
    assert abs(share - 3000 / 33000) < 0.02
    assert abs(m["sn"][3] - 0.8) < 0.05 and abs(m["pc"][2] - 0.7) < 0.05
    probabilities = pattern_probabilities(np.array([[3, 3, 3, 2, 1], [0, 0, 0, 0, 0]]), m_true, u, 0.001)
    assert probabilities[0] > 0.99 > 0.01 > probabilities[1]


def test_cluster_size_guard_stops_chains(link):
    """Five entries of one person at five providers become one person; with a cluster cap of
    three, no person gets more than three of them and the refused merges are counted."""
    from linkage.parameters import LinkageParameters

    born = dt.date(1990, 1, 1)
    chain = [person(f"2300000{i}", f"K{i}", None, "Jansen", "Emma", born, "1234AB") for i in range(1, 6)]

    def sizes(con) -> list[int]:
        frame = query_frame(
            con,
            "SELECT person_id, count(*) AS n FROM entry_person JOIN entries USING (entry_id) "
            "WHERE client_id LIKE 'K%' GROUP BY person_id",
        )
        return sorted(frame["n"].to_list(), reverse=True)

    assert sizes(link([*background(), *chain])) == [5]
    capped = sizes(link([*background(), *chain], parameters=LinkageParameters(max_cluster_size=3)))
    assert sum(capped) == 5 and capped[0] == 3


def test_ten_thousand_identical_rows_stay_bounded_and_unlinked(link):
    """A placeholder identity that no list lists (not "Onbekend"), 10,000 times without a BSN
    at two providers: it forms no block and links no one, and the blocks stay bounded."""
    born = dt.date(1950, 5, 5)
    copies = [person(f"2400000{i % 2}", f"Z{i}", None, "Zzz", "Qqq", born, "2345AB") for i in range(10_000)]
    con = link([*background(), *copies])
    linked = query_frame(
        con,
        "SELECT count(*) AS n FROM entry_person JOIN entries USING (entry_id) "
        "WHERE client_id LIKE 'Z%' AND link_method <> 'none'",
    )
    assert linked["n"].item() == 0
    assert con.sql("SELECT count(*) FROM frequent_entries").fetchall()[0][0] == 10_000
    pairs = con.sql("SELECT count(*) FROM pair_levels").fetchall()[0][0]
    assert pairs < 10_000, "no pair involves the copies"


def test_oversized_blocks_propose_no_pairs_and_are_counted(link):
    """A care home's postcode and one birth year shared by more entries than max_block_entries:
    postcode_geboortejaar proposes none of those pairs, other passes still do their work."""
    from linkage.blocking import find_candidates
    from linkage.parameters import LinkageParameters

    born = dt.date(1930, 2, 2)
    residents = [person(f"2500000{i % 2}", f"H{i}", None, f"Bewoner{chr(65 + i % 26)}{i // 26}", "Anna",
                        born + dt.timedelta(days=i % 300), "7001AA") for i in range(40)]  # fmt: skip
    con = link([*background(), *residents], keep_linking_table=True)
    result = find_candidates(con, left_filter="l.bsn_token IS NULL", parameters=LinkageParameters(max_block_entries=30))
    assert result.skipped_blocks["postcode_geboortejaar"] >= 1
    assert result.skipped_block_entries["postcode_geboortejaar"] >= 40
    found = candidate_passes(con)
    assert not any("postcode_geboortejaar" in names for pair, names in found.items() if pair[0].startswith("H"))


@pytest.mark.slow
def test_a_large_block_pairs_each_entry_with_its_neighbours_only(link):
    """300 entries born on one day (no BSN, different names), among them one person at two
    providers: with block_compared 30 the birth-date pass gives each entry at most about 30
    partners instead of 299, and still proposes the person's two entries (neighbours in the
    pass's order by surname and first name); compared whole, it proposes every pair."""
    from linkage.blocking import find_candidates
    from linkage.parameters import LinkageParameters

    born = dt.date(1961, 6, 14)
    crowd = [person(f"2600000{i % 3}", f"D{i}", None, f"Achter{chr(65 + i % 26)}{chr(65 + i // 26)}", f"Voor{i}",
                    born, f"{3000 + i}AB") for i in range(300)]  # fmt: skip
    twins = [person("26000010", "T1", None, "Zwanenburg", "Els", born, "9000AA"),
             person("26000011", "T2", None, "Zwanenburg", "Els", born, "9100BB")]  # fmt: skip
    con = link([*background(), *crowd, *twins], keep_linking_table=True)

    def birth_date_partners() -> dict[str, int]:
        frame = query_frame(
            con,
            "SELECT a.client_id AS x, b.client_id AS y FROM candidate_passes AS c "
            "JOIN entry_facts AS a ON a.entry_id = c.l "
            "JOIN entry_facts AS b ON b.entry_id = c.r WHERE c.pass = 'geboortedatum'",
        )
        partners: dict[str, int] = {}
        for x, y in frame.iter_rows():
            partners[x], partners[y] = partners.get(x, 0) + 1, partners.get(y, 0) + 1
        return partners

    find_candidates(con, left_filter="l.bsn_token IS NULL", parameters=LinkageParameters(block_compared=30))
    windowed = birth_date_partners()
    assert max(windowed.values()) <= 30 and min(windowed[f"D{i}"] for i in range(300)) >= 10
    assert "geboortedatum" in candidate_passes(con)[("T1", "T2")]
    find_candidates(con, left_filter="l.bsn_token IS NULL", parameters=LinkageParameters(block_compared=1000))
    assert min(birth_date_partners()[f"D{i}"] for i in range(300)) == 301
