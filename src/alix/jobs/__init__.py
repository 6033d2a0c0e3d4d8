"""Background work: a task registry, a durable queue in the database, leases, a runner."""
