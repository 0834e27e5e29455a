"""A refusal reads the same whichever workflow or activity sent it: one `Rejection` in the first detail of an
`ApplicationError` of type `Rejected`, read back by `Rejection.of` after Temporal's own failure conversion, and
raised by the direct client as `InputRejected` with the rule and the field."""

from __future__ import annotations

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from caseloop.direct.failures import Call, update_failed
from caseloop.errors import CommandError, InputRejected
from schemas.rejections import ErrorType, Rejected, Rejection

CALL = Call(target="127.0.0.1:7233", namespace="default", subject="hand-off SQ-1", command_id="c-1")


def over_the_wire(error: ApplicationError) -> ApplicationError:
    """The error as a client receives it: encoded by the worker's failure converter, decoded by the client's."""
    converter = DataConverter.default
    failure = Failure()
    converter.failure_converter.to_failure(error, converter.payload_converter, failure)
    received = converter.failure_converter.from_failure(failure, converter.payload_converter)
    assert isinstance(received, ApplicationError)
    return received


def test_a_case_and_a_handoff_refusal_read_back_alike() -> None:
    case = Rejected("closure.cosigned", None, "the closing report is already co-signed")
    handoff = Rejected("stage.closed", "stage", "cannot claim the hand-off: its loop is closed")
    for rejected in (case, handoff):
        assert Rejection.of(over_the_wire(rejected.rejection.error())) == rejected.rejection


def test_the_direct_client_raises_the_rule_and_the_field_it_reads() -> None:
    error = over_the_wire(Rejected("actor.receiver", "actor", "only the receiver may claim").rejection.error())
    raised = update_failed(CALL, error)
    assert isinstance(raised, InputRejected)
    assert (raised.rule, raised.field) == ("actor.receiver", "actor")
    assert str(raised) == "hand-off SQ-1: only the receiver may claim (rule actor.receiver, field actor)"


def test_a_service_refusal_without_a_rule_reads_as_rule_rejected() -> None:
    refused = over_the_wire(ApplicationError("matter M-1 is retired", type=ErrorType.REJECTED, non_retryable=True))
    assert Rejection.of(refused) == Rejection(rule="rejected", message="matter M-1 is retired")


def test_other_failures_are_not_rejections() -> None:
    continuing = ApplicationError("send the command again", type=ErrorType.CONTINUING, non_retryable=True)
    assert Rejection.of(over_the_wire(continuing)) is None
    raised = update_failed(CALL, over_the_wire(continuing))
    assert type(raised) is CommandError
