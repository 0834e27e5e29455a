"""What a hand-off's input may hold: codes, references and free text, packages bounded in bytes, and the
window of dates a department may report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError, to_json

from schemas.text import FREE_TEXT, IDENTIFIER, Package

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), IDENTIFIER]


# The department's own reference (case number, decision number): any printable text, never a person's data.
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), IDENTIFIER]


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), FREE_TEXT]


Remark = Annotated[str, StringConstraints(max_length=500), FREE_TEXT]


# The most a hand-off's package or a feedback's details may weigh as JSON, and the findings one feedback may carry:
# the start, the feedback and its notice together stay well under the 2 MB a continue-as-new input may weigh.
PACKAGE_MAX_BYTES = 256 << 10


FINDINGS_PER_FEEDBACK = 50


PACKAGE_TOO_LARGE = "package.too-large"


DETAILS_TOO_LARGE = "details.too-large"


def _json_within(rule: str, limit: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def check(value: dict[str, Any]) -> dict[str, Any]:
        size = len(to_json(value))
        if size > limit:
            raise PydanticCustomError(
                rule, "{size} bytes as JSON; at most {limit} are accepted", {"size": size, "limit": limit}
            )
        return value

    return check


# A push's package and a feedback's details: free text throughout (schemas.text), and bounded in bytes.
HandoffPackage = Annotated[Package, AfterValidator(_json_within(PACKAGE_TOO_LARGE, PACKAGE_MAX_BYTES))]


FeedbackDetails = Annotated[Package, AfterValidator(_json_within(DETAILS_TOO_LARGE, PACKAGE_MAX_BYTES))]


class DateWindow(BaseModel):
    """The instants a department may report: none before `earliest`, none more than `ahead` past now. A date of
    1900 or 9999 is a typing error: its limits would fire every rung at once, or overflow the calendar."""

    model_config = ConfigDict(frozen=True)

    earliest: AwareDatetime = datetime(2000, 1, 1, tzinfo=UTC)
    ahead: timedelta = Field(timedelta(days=1), ge=timedelta(0), le=timedelta(days=366))

    def refusal(self, at: datetime, now: datetime) -> str | None:
        """Why `at` is refused as of `now`, or None."""
        if at < self.earliest:
            return f"{at.isoformat()} lies before {self.earliest.isoformat()}, the earliest date accepted"
        if at > now + self.ahead:
            return f"{at.isoformat()} lies more than {self.ahead} ahead of now ({now.isoformat()})"
        return None


# The window events' `occurred_at` and findings' `decided_at` must lie in (the rules event.occurred-at and
# finding.decided-at); the intake activities take another one where a deployment needs it.
DATE_WINDOW = DateWindow()
