"""Tokens: what is trusted and what is a 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from platform_kit import auth
from platform_kit.auth import (
    InvalidToken,
    Principal,
    Role,
    VerifiedTokens,
    _plainly_valid_claims,
    bearer_token,
    issue_token,
    verify_token,
    verify_token_until,
)

SECRET = "s" * 40


def test_an_issued_token_verifies_to_its_principal() -> None:
    assert verify_token(issue_token("alice", "admin", SECRET), SECRET) == Principal(
        "alice", Role.ADMIN
    )


def test_the_scope_claim_is_a_space_separated_set_of_scopes() -> None:
    token = issue_token("alice", "customer", SECRET, scopes=("read:users", "billing"))
    assert verify_token(token, SECRET).scopes == {"read:users", "billing"}
    assert verify_token(issue_token("alice", "customer", SECRET), SECRET).scopes == frozenset()


def test_a_scope_claim_that_is_no_string_is_refused() -> None:
    claims = {"sub": "a", "role": "customer", "exp": int(time.time()) + 60, "scope": ["x"]}
    with pytest.raises(InvalidToken, match="scope"):
        verify_token(jwt.encode(claims, SECRET, algorithm="HS256"), SECRET)


@pytest.mark.parametrize(
    "token",
    [
        issue_token("alice", "customer", SECRET, ttl_seconds=-1),
        issue_token("alice", "customer", "w" * 40),
        jwt.encode(
            {"sub": "a", "role": "admin", "exp": int(time.time()) + 60}, None, algorithm="none"
        ),
        jwt.encode(
            {"sub": "a", "role": "root", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"
        ),
        jwt.encode({"sub": "a", "role": "admin"}, SECRET, algorithm="HS256"),
        jwt.encode({"role": "admin", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"),
        jwt.encode(
            {"sub": "", "role": "admin", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"
        ),
        "garbage",
        jwt.encode(
            {"sub": "a", "role": "admin", "exp": str(int(time.time()) + 60)},
            SECRET,
            algorithm="HS256",
        ),
        *(
            jwt.encode(
                {"sub": "a", "role": "admin", "exp": int(time.time()) + 60, claim: value},
                SECRET,
                algorithm="HS256",
            )
            for claim in ("iat", "nbf")
            for value in ("1700000000", True, None, [1])
        ),
        jwt.encode({"sub": "a", "role": "admin", "exp": float("inf")}, SECRET, algorithm="HS256"),
        jwt.encode(
            {"sub": 7, "role": "admin", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"
        ),
    ],
    # the tokens hold the time they were made: named by position, every pytest-xdist
    # worker collects the same test ids even when they collect a second apart
    ids=[
        "expired",
        "wrong-secret",
        "unsigned",
        "unknown-role",
        "no-expiry",
        "no-subject",
        "empty-subject",
        "garbage",
        "expiry-as-text",
        *(
            f"{claim}-as-{kind}"
            for claim in ("iat", "nbf")
            for kind in ("text", "bool", "null", "list")
        ),
        "infinite-expiry",
        "numeric-subject",
    ],
)
def test_untrustworthy_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(token, SECRET)


@pytest.mark.parametrize(
    ("header", "token"), [(None, None), ("Bearer abc", "abc"), ("bearer  abc ", "abc")]
)
def test_bearer_headers(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer   ", "abc"])
def test_other_authorization_headers_are_invalid(header: str) -> None:
    with pytest.raises(InvalidToken):
        bearer_token(header)


class _Counted:
    """verify_token_until, counting the tokens it really checked."""

    def __init__(self) -> None:
        self.checked: list[str] = []

    def __call__(self, token: str, secret: str) -> tuple[Principal, float]:
        self.checked.append(token)
        return verify_token_until(token, secret)


def test_a_token_sent_again_is_verified_once() -> None:
    counted = _Counted()
    tokens = VerifiedTokens(verify=counted)
    token = issue_token("alice", "customer", SECRET)
    assert (
        tokens.verify(token, SECRET)
        == tokens.verify(token, SECRET)
        == Principal("alice", Role.CUSTOMER)
    )
    assert counted.checked == [token]


def test_distinct_tokens_never_share_an_entry() -> None:
    counted = _Counted()
    tokens = VerifiedTokens(verify=counted)
    alice = issue_token("alice", "customer", SECRET)
    bob = issue_token("bob", "admin", SECRET)
    assert tokens.verify(alice, SECRET).sub == "alice"
    assert tokens.verify(bob, SECRET) == Principal("bob", Role.ADMIN)
    assert tokens.verify(alice, SECRET).sub == "alice"
    # alice's claims under another signature: a token of its own, checked, refused
    header, claims, _ = alice.split(".")
    forged = f"{header}.{claims}.{'A' * 43}"
    with pytest.raises(InvalidToken):
        tokens.verify(forged, SECRET)
    with pytest.raises(InvalidToken):  # a refusal is not remembered either
        tokens.verify(forged, SECRET)
    assert counted.checked == [alice, bob, forged, forged]


def test_a_remembered_token_is_checked_again_once_its_exp_has_come() -> None:
    exp = int(time.time()) + 60
    token = jwt.encode({"sub": "alice", "role": "customer", "exp": exp}, SECRET, algorithm="HS256")
    now = [exp - 1.0]
    counted = _Counted()
    tokens = VerifiedTokens(verify=counted, clock=lambda: now[0])
    tokens.verify(token, SECRET)
    tokens.verify(token, SECRET)
    assert counted.checked == [token]
    now[0] = exp  # expired once exp <= now, as PyJWT has it: not answered from memory
    tokens.verify(token, SECRET)
    assert counted.checked == [token, token]


def test_an_expired_token_is_refused_and_not_remembered() -> None:
    claims = {"sub": "alice", "role": "customer", "exp": int(time.time()) - 1}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    tokens = VerifiedTokens()
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token, SECRET)
    assert len(tokens) == 0


def test_a_remembered_token_is_checked_again_under_another_secret() -> None:
    tokens = VerifiedTokens()
    token = issue_token("alice", "customer", SECRET)
    assert tokens.verify(token, SECRET).sub == "alice"
    with pytest.raises(InvalidToken):
        tokens.verify(token, "t" * 40)


def test_the_remembered_tokens_are_bounded_least_recently_used_first() -> None:
    counted = _Counted()
    tokens = VerifiedTokens(2, verify=counted)
    first, second, third = (issue_token(sub, "customer", SECRET) for sub in ("a", "b", "c"))
    for token in (first, second, first, third):  # `second` is the least recently used
        tokens.verify(token, SECRET)
    assert len(tokens) == 2
    tokens.verify(first, SECRET)
    tokens.verify(second, SECRET)
    assert counted.checked == [first, second, third, second]


def _signed(header: dict[str, object], claims: dict[str, object], secret: str = SECRET) -> str:
    def segment(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing_input = f"{segment(header)}.{segment(claims)}"
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


_NOW = int(time.time())
_CLAIMS = {"sub": "alice", "role": "customer", "iat": _NOW - 5, "exp": _NOW + 600}
_HS256 = {"alg": "HS256", "typ": "JWT"}


def _pyjwt_claims(token: str) -> dict[str, object] | None:
    try:
        return jwt.decode(
            token, SECRET, algorithms=["HS256"], options={"require": ["exp", "sub", "role"]}
        )
    except jwt.InvalidTokenError:
        return None


@pytest.mark.parametrize(
    ("token", "taken_plainly"),
    [
        (_signed(_HS256, _CLAIMS), True),
        (_signed({"alg": "HS256"}, {**_CLAIMS, "scope": "a b", "jti": "j"}), True),
        (_signed(_HS256, {**_CLAIMS, "exp": _NOW - 1}), False),  # expired
        (_signed(_HS256, {**_CLAIMS, "iat": _NOW + 600}), False),  # issued in the future
        (_signed(_HS256, {**_CLAIMS, "nbf": _NOW + 600}), False),  # not yet valid
        (_signed(_HS256, {**_CLAIMS, "aud": "shop"}), False),  # an audience nobody expects
        (_signed(_HS256, {**_CLAIMS, "exp": str(_NOW + 600)}), False),
        (_signed(_HS256, {**_CLAIMS, "sub": 7}), False),
        (_signed(_HS256, {**_CLAIMS, "jti": 7}), False),
        (_signed(_HS256, {"sub": "alice", "exp": _NOW + 600}), False),  # no role
        (_signed({"alg": "HS512", "typ": "JWT"}, _CLAIMS), False),
        (_signed({"alg": "none"}, _CLAIMS), False),
        (_signed({**_HS256, "kid": "k1"}, _CLAIMS), False),  # PyJWT decides
        (_signed(_HS256, _CLAIMS, secret="t" * 40), False),  # another key
        (_signed(_HS256, _CLAIMS) + "=", False),  # padded: PyJWT decides (and takes it)
        (_signed(_HS256, _CLAIMS)[:-2], False),  # a cut signature
        ("a.b", False),
        ("é" + _signed(_HS256, _CLAIMS), False),
    ],
    # named, not shown: the tokens carry the time of collection, and pytest-xdist's workers
    # must collect the same test ids
    ids=[
        "plain",
        "scope-and-jti",
        "expired",
        "issued-in-future",
        "not-yet-valid",
        "audience",
        "exp-string",
        "sub-number",
        "jti-number",
        "no-role",
        "hs512",
        "alg-none",
        "kid",
        "other-key",
        "padded",
        "cut-signature",
        "two-segments",
        "non-ascii",
    ],
)
def test_a_token_is_taken_without_pyjwt_only_when_pyjwt_takes_it_the_same(
    token: str, taken_plainly: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    plainly = _plainly_valid_claims(token, SECRET)
    assert (plainly is not None) is taken_plainly
    if plainly is not None:
        assert _pyjwt_claims(token) == plainly
    # and verify_token answers as it does with PyJWT alone
    answers = []
    for path in ("plain first", "PyJWT alone"):
        if path == "PyJWT alone":
            monkeypatch.setattr(auth, "_plainly_valid_claims", lambda token, secret: None)
        try:
            answers.append(verify_token(token, SECRET))
        except InvalidToken as refused:
            answers.append(refused.reason)
    assert answers[0] == answers[1]
