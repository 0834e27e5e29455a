"""Who a request is, once the front door has authenticated it, and the API keys departments hold."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class CredentialKind(StrEnum):
    DEPARTMENT = "department"  # a department's system, acting only for its own department
    OPERATOR = "operator"  # the city's operators: policy overrides, and acting for a department with a reason


class Caller(BaseModel):
    """The authenticated caller. Its department comes from the credential, never from a request body."""

    model_config = ConfigDict(frozen=True)

    department: str = Field(description="registry code of the department the credential belongs to")
    kind: CredentialKind
    credential_id: str = Field(
        max_length=200, description='"key:<key_id>" for an API key, "jwt:<issuer host>:<subject>" for a JWT'
    )
    expires_at: AwareDatetime | None = Field(None, description="when the credential stops being accepted")


class RefusalReason(StrEnum):
    """Why a credential was refused; the door puts it in its 401 answer, which never repeats the credential."""

    MISSING = "missing"
    MALFORMED = "malformed"
    UNKNOWN = "unknown"  # no API key with that key id
    REVOKED = "revoked"
    EXPIRED = "expired"
    BAD_SIGNATURE = "bad_signature"  # a wrong API key secret, or a JWT whose signature does not verify
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNKNOWN_SIGNING_KEY = "unknown_signing_key"  # a JWT whose kid the issuer's JWKS does not hold
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    NOT_YET_VALID = "not_yet_valid"
    NO_DEPARTMENT = "no_department"  # a JWT without the claim naming the department
    JWT_NOT_ACCEPTED = "jwt_not_accepted"  # a JWT where none is configured
    ISSUER_UNREACHABLE = "issuer_unreachable"  # the JWKS could not be fetched: the caller may retry


class CredentialStatus(StrEnum):
    LIVE = "live"
    EXPIRED = "expired"
    REVOKED = "revoked"


class CredentialInfo(BaseModel):
    """An API key as listings show it: everything but the secret, which is never stored."""

    key_id: str
    department: str
    kind: CredentialKind
    status: CredentialStatus
    expires_at: AwareDatetime
    revoked_at: AwareDatetime | None = None
    last_used_at: AwareDatetime | None = Field(None, description="recorded at most once a minute")
    created_at: AwareDatetime
    created_by: str
    comment: str | None = None


class IssuedCredential(CredentialInfo):
    """A newly issued API key: the only time its secret is shown."""

    api_key: str = Field(description="clk_<key_id>_<secret>; shown once, only a peppered HMAC of it is stored")
