"""Tiny Strawberry subgraphs that exercise Federation 2 features, for the gateway's tests.

Run as their own uvicorn processes (`fed_fixtures.subgraphs:create_<name>`, with this folder
on PYTHONPATH); each counts the GraphQL requests it receives (GET /count, POST /reset)."""
