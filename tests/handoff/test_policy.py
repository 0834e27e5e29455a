"""The hand-off's tuning numbers come from settings (CASELOOP_HANDOFF_POLICY, JSON), bounded, with DESIGN.md's
defaults; a hand-off started before the policy was kept reads the defaults."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.handoff import HandoffPolicy, HandoffStart
from schemas.registry import LimitUnit, MatterStep
from tests.handoff.builders import a_start
from workers.settings import Settings


def test_the_defaults_are_designs() -> None:
    policy = HandoffPolicy()
    assert (policy.delivery_attempts_before_alert, policy.sms_attempts, policy.misrouting_threshold) == (6, 8, 2)
    claim = policy.default_limits[MatterStep.CLAIM]
    assert (claim.amount, claim.unit) == (Decimal(2), LimitUnit.WORKING_DAYS)


def test_settings_set_the_policy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CASELOOP_HANDOFF_POLICY", '{"delivery_attempts_before_alert": 3, "misrouting_threshold": 4}')
    policy = Settings(data_dir=tmp_path).handoff_policy
    assert (policy.delivery_attempts_before_alert, policy.misrouting_threshold, policy.sms_attempts) == (3, 4, 8)


def test_a_number_out_of_bounds_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError) as raised:
        HandoffPolicy(delivery_attempts_before_alert=0)
    assert raised.value.errors()[0]["loc"] == ("delivery_attempts_before_alert",)


def test_a_start_without_a_policy_reads_the_defaults() -> None:
    stored = a_start().model_dump(mode="json")
    stored.pop("policy")
    start = HandoffStart.model_validate(stored)
    assert start.policy == HandoffPolicy()
    assert start.limit(MatterStep.CLAIM) == HandoffPolicy().default_limits[MatterStep.CLAIM]
