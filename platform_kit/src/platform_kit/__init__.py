"""What every service of the platform shares: settings, identity, logs, metrics, health, Mongo."""
