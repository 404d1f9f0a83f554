import polars as pl

from hashing.normalise import normalised_postcode_expr, normalised_surname_expr


def surnames(names: list[str | None], prefixes: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"a": names, "t": prefixes}, schema={"a": pl.Utf8, "t": pl.Utf8})
    return frame.select(normalised_surname_expr("a", "t").alias("n"))["n"].to_list()


def test_prefix_placement_case_and_diacritics_do_not_matter():
    variants = surnames(
        ["van der Berg", "Berg, van der", "BERG", "Berg", "van  der  berg"],
        [None, None, "van der", "Van Der", None],
    )
    assert set(variants) == {"berg"}
    assert surnames(["Müller-Lüdenscheidt", "Çelik", "'t Hart", "in 't Veld"], [None] * 4) == [
        "mullerludenscheidt",
        "celik",
        "hart",
        "veld",
    ]


def test_a_surname_that_is_only_a_prefix_word_is_kept():
    assert surnames(["Van", "de"], [None, None]) == ["van", "de"]


def test_empty_surname_is_null():
    assert surnames(["", "--", None], [None, None, None]) == [None, None, None]


def test_postcode():
    frame = pl.DataFrame({"p": ["1234 ab", "1234AB", " 1234ab ", "0123AB", "1234A", None]})
    assert frame.select(normalised_postcode_expr("p"))["p"].to_list() == [
        "1234AB",
        "1234AB",
        "1234AB",
        None,
        None,
        None,
    ]
