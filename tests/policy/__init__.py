"""Policy conformance: the policies deploy/terraform writes, and what AWS would decide for them.

`deployment()` reads and resolves the Terraform; `decide` evaluates one request as IAM does;
`tests.policy.wire` turns the HTTP requests botocore sends into those authorisation requests.
"""

from tests.policy.deployment import Deployment, deployment
from tests.policy.evaluate import Policy, Principal, Request, Verdict, decide

__all__ = ["Deployment", "Policy", "Principal", "Request", "Verdict", "decide", "deployment"]
