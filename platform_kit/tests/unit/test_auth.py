"""Tokens: what is trusted and what is a 401."""

from __future__ import annotations

import time

import jwt
import pytest

from platform_kit.auth import InvalidToken, Principal, Role, bearer_token, issue_token, verify_token

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
