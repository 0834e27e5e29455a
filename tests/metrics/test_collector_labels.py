"""The store's gauges keep their labels bounded: a code gone from the registry reads `unregistered`, a missing one
`none`, an unknown stage `other`, and rows that fold into one label set add up instead of repeating a series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workers.collectors import Reading, described, families, month_start

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _samples(reading: Reading) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    return {
        family.name: {tuple(sorted(sample.labels.items())): sample.value for sample in family.samples}
        for family in families(reading)
    }


def test_codes_outside_the_registry_fold_into_bounded_labels() -> None:
    reading = Reading(
        codes=frozenset({"SQ-HOUSING", "SQ-SUYU"}),
        cases=[
            ("in_progress", "red", "SQ-HOUSING", "SQ-SUYU", 2),
            ("in_progress", "red", "SQ-GONE-1", "SQ-SUYU", 1),
            ("in_progress", "red", "SQ-GONE-2", "SQ-SUYU", 4),
            ("registered", "green", None, None, 3),
            ("a-stage-from-later", "purple", "SQ-HOUSING", "SQ-SUYU", 1),
        ],
        meetings=[["SQ-HOUSING", "SQ-GONE-1", "SQ-GONE-2"]],
        inbox=[("SQ-HOUSING", 2, NOW - timedelta(hours=3)), ("SQ-GONE-1", 1, NOW - timedelta(hours=1))],
        at=NOW,
    )
    samples = _samples(reading)
    assert samples["caseloop_open_cases"] == {
        (("department", "SQ-HOUSING"), ("locality", "SQ-SUYU"), ("sla_colour", "red"), ("stage", "in_progress")): 2,
        (("department", "unregistered"), ("locality", "SQ-SUYU"), ("sla_colour", "red"), ("stage", "in_progress")): 5,
        (("department", "none"), ("locality", "none"), ("sla_colour", "green"), ("stage", "registered")): 3,
        (("department", "SQ-HOUSING"), ("locality", "SQ-SUYU"), ("sla_colour", "other"), ("stage", "other")): 1,
    }
    # Every registry code has its open-meetings series, 0 when none; a meeting counts once for each department.
    assert samples["caseloop_joint_meetings_open"] == {
        (("department", "SQ-HOUSING"),): 1,
        (("department", "SQ-SUYU"),): 0,
        (("department", "unregistered"),): 1,
    }
    assert samples["caseloop_inbox_depth"] == {(("department", "SQ-HOUSING"),): 2, (("department", "unregistered"),): 1}
    assert samples["caseloop_inbox_oldest_age_seconds"] == {
        (("department", "SQ-HOUSING"),): 3 * 3600,
        (("department", "unregistered"),): 3600,
    }


def test_the_families_are_described_without_a_store_and_the_month_is_the_citys() -> None:
    assert {family.name for family in described()} >= {"caseloop_open_cases", "caseloop_read_model_up"}
    # 30 November 17:00 UTC is already 1 December in Suqian.
    assert month_start(datetime(2026, 11, 30, 17, 0, tzinfo=UTC)).isoformat() == "2026-12-01T00:00:00+08:00"


def test_open_channel_cases_are_counted_by_the_registrys_channels() -> None:
    reading = Reading(
        codes=frozenset(),
        channel_codes=frozenset({"12345"}),
        channel_cases=[
            ("12345", "in_progress", "yellow", 2),
            ("12345", "in_progress", "yellow", 1),
            ("GONE", "registered", "green", 4),
        ],
        at=NOW,
    )
    assert _samples(reading)["caseloop_open_channel_cases"] == {
        (("channel", "12345"), ("sla_colour", "yellow"), ("stage", "in_progress")): 3,
        (("channel", "unregistered"), ("sla_colour", "green"), ("stage", "registered")): 4,
    }
