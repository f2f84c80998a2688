"""Federation cases: small federations of SDL-first subgraphs, each built to reproduce one
situation a Federation 2 gateway must handle (a compound key assembled from two subgraphs,
two @requires of one field with different arguments, ...).

Each case is a folder: one `<subgraph>.graphql` per subgraph (its SDL as its authors would
write it), the `supergraph.graphql` the reference composer makes of them (committed; `make
supergraph` rewrites it, `make test` fails when it is stale), and an `__init__.py` giving
the subgraphs' data and resolvers. The gateway runs over them in-process (harness.py), so a
case's plans and answers are checked without a network or a server.
"""
