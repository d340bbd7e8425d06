"""The client API's Lambda entry point: `worker.api.handler.handler`, the resolver's `resolve`.

The settings are read here, at cold start, so a misconfigured function fails its init naming the
variable; the S3 client is made on the first request that needs it.
"""

from __future__ import annotations

from worker.api.app import create_app
from worker.api.settings import load_api_settings

app = create_app(load_api_settings())
handler = app.resolve
