"""Print a development JWT: `python -m platform_devkit.devtoken --sub alice --role customer`."""

from __future__ import annotations

import argparse

from platform_kit.auth import DEFAULT_TTL_SECONDS, Role, issue_token
from platform_kit.settings import ServiceSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sub", required=True, help="the user id")
    parser.add_argument("--role", default="customer", choices=[r.value for r in Role])
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="seconds")
    parser.add_argument(
        "--scope", default="", help='the `scope` claim, space-separated: "read:users billing"'
    )
    args = parser.parse_args(argv)
    secret = ServiceSettings().jwt_secret()
    scopes = tuple(args.scope.split())
    print(issue_token(args.sub, args.role, secret, ttl_seconds=args.ttl, scopes=scopes))


if __name__ == "__main__":
    main()
