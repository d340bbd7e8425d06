"""The locust load test: `run` (the runner: starts the stack, runs locust headless, drains,
reconciles, reports), `runner` (locust's command line and the exit on a signal, shared with the
chaos run), `locustfile` (the clients), `options`, `payloads` (generated photos), `tracker` (what
each upload became, as a client sees it), `queues` (the queue and DLQ sampled, then waited on),
`ledger` and `reconcile` (accounting from the buckets and the DLQ), `report` (the figures) and
`plot`, `redrive`, `shares` (distributed mode)."""
