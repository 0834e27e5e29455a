"""Typed search-attribute keys of cases and hand-offs: what supervisors filter on in the Temporal UI.

None of them may carry personal data: they are stored in clear. SQL visibility allows at most 10 Keyword (all taken),
3 KeywordList and 3 Datetime keys per namespace, so add with care.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

KIND = SearchAttributeKey.for_keyword("CaseloopKind")
STAGE = SearchAttributeKey.for_keyword("CaseloopStage")
# The most severe card issued (none, yellow, red): permanent, it only rises.
CARD_COLOUR = SearchAttributeKey.for_keyword("CaseloopCardColour")
# The SLA colour computed from the running clocks (green … red): it moves back when a deadline moves.
SLA_COLOUR = SearchAttributeKey.for_keyword("CaseloopSlaColour")
LEAD_DEPARTMENT = SearchAttributeKey.for_keyword("CaseloopLeadDepartment")
LOCALITY = SearchAttributeKey.for_keyword("CaseloopLocality")
MATTER = SearchAttributeKey.for_keyword("CaseloopMatter")
PRIORITY = SearchAttributeKey.for_keyword("CaseloopPriority")
SUPERVISION_LEVEL = SearchAttributeKey.for_keyword("CaseloopSupervisionLevel")
DIRECTION = SearchAttributeKey.for_keyword("CaseloopDirection")
NEXT_DUE_AT = SearchAttributeKey.for_datetime("CaseloopNextDueAt")
# Every department party to the case or hand-off, by code: what scopes a department's lists and counts
# (`CaseloopParties = 'SQ-SPJ'` matches any element).
PARTIES = SearchAttributeKey.for_keyword_list("CaseloopParties")
# A case taken in from an intake channel: the channel's code, `<channel>.<its record number>`, and `unplaced` while
# the channel's mapping failed (`CaseloopChannel = '12345'`, `CaseloopChannel = '12345.WO-1'`). One key for both,
# as keyword lists are scarce.
CHANNEL = SearchAttributeKey.for_keyword_list("CaseloopChannel")

ALL: tuple[SearchAttributeKey, ...] = (
    KIND,
    STAGE,
    CARD_COLOUR,
    SLA_COLOUR,
    LEAD_DEPARTMENT,
    LOCALITY,
    MATTER,
    PRIORITY,
    SUPERVISION_LEVEL,
    DIRECTION,
    NEXT_DUE_AT,
    PARTIES,
    CHANNEL,
)
