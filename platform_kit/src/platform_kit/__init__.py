"""What every service of the platform runs: settings, identity, logs, metrics, health, errors,
paging, money; the subgraphs' Mongo and GraphQL pieces behind the `mongo` and `graphql`
extras. Nothing for development or tests (that is platform_devkit)."""
