"""The locust load test: `run` (the runner: starts the stack, runs locust headless, drains,
reconciles, reports), `locustfile` (the clients), `options`, `payloads` (generated photos),
`tracker` (what each upload became, as a client sees it), `ledger` and `reconcile` (accounting
from the buckets and the DLQ), `report` (figures and the plot), `redrive`, `shares` (distributed
mode)."""
