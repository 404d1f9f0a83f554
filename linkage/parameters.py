"""The settings and the account of the probabilistic linkage stage."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LinkageParameters:
    """Thresholds and guards of the probabilistic stage."""

    link_threshold: float = 0.5
    review_threshold: float = 0.2
    second_link_threshold: float = 0.99
    """A pair the one-to-one matching leaves out is still a link at this probability of its own
    (a person with an internal duplicate who waits elsewhere too)."""
    rate_shrinkage: float = 100.0
    """How many entries' worth of weight the round's prior has in a provider pair's estimated
    rate of shared waiters (see :mod:`linkage.selection`)."""
    max_cluster_size: int = 12
    max_block_entries: int = 1000
    block_compared: int = 60
    """A block of up to this many entries is compared whole; in a larger one an entry meets
    about this many of its neighbours (see :func:`blocking_sql`)."""
    em_iterations: int = 100
    random_pairs: int = 200_000
    labelled_pairs: int = 100_000


@dataclass
class LinkageReport:
    """What the probabilistic stage did: counts, estimated parameters and timings."""

    candidate_pairs: int = 0
    pairs_per_pass: dict[str, int] = field(default_factory=dict)
    skipped_blocks: dict[str, int] = field(default_factory=dict)
    """Per pass, how many blocking keys were shared by too many entries to propose pairs."""
    skipped_block_entries: dict[str, int] = field(default_factory=dict)
    frequent_value_entries: int = 0
    """Entries whose surname, birth date and postcode are shared by more entries than one
    person can have (a placeholder): left out of probabilistic linkage."""
    labelled_matches: int = 0
    links: int = 0
    review_pairs: int = 0
    refused_one_to_one: int = 0
    """Pairs above the link threshold left out by the one-to-one matching between two providers."""
    review_per_provider: dict[str, int] = field(default_factory=dict)
    """Per provider, the review-band pairs it is part of (a pair counts for both its providers)."""
    provider_pair_rates: dict[str, float] = field(default_factory=dict)
    """The largest estimated shares of one provider's entries that wait at another (``A>B``)."""
    probability_histogram: list[int] = field(default_factory=list)
    """Scored pairs (evidence for a match at least as strong as against) per twentieth of the
    match probability, 0-0.05 first."""
    split_clusters: int = 0
    """Persons split at their weakest link because they held two entries of one provider that
    were not linked to each other."""
    rejected_bsn_conflict: int = 0
    rejected_cluster_size: int = 0
    match_prior: float = 0.0
    m: dict[str, list[float]] = field(default_factory=dict)
    u: dict[str, list[float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    key_id: str = ""
