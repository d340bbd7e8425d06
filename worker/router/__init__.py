"""The router: the small Lambda between the work queue and the two lanes (docs/fairness.md).

Every upload's S3 event lands on the work queue, as before. The router reads each record, decides
its lane (the mark the client API pinned on the upload, then the tenant's recent rate) and sends
the body unchanged to the interactive or the bulk queue, each consumed by the worker through its
own event source mapping and maximum concurrency. Its entry point is `worker.router.handler.handler`;
it never loads the image engine, aioboto3 or the worker's pipeline.
"""
