"""Structured logs and EMF metrics, configured once for every part of imgpipe.

Powertools reads POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_LOG_LEVEL
itself; these are only the defaults when they are unset.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.getenv("POWERTOOLS_SERVICE_NAME", "imgpipe")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", "imgpipe"), service=SERVICE)

__all__ = ["MetricUnit", "logger", "metrics"]
