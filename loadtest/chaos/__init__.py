"""The chaos run: the load test's clients against the local stack under injected faults, worker
kills, poison files and duplicated or reordered events (`run`, its `options` and payload `mix`,
the `agents` that duplicate and interleave events, `kills`), judged by `ledger`."""
