"""The client API: the HTTP front of imgpipe for end users (its own Lambda function, same artifact).

A signed-in user asks for a pre-signed POST into their own upload prefix, then reads their
images' status and variant URLs. Its entry point is `worker.api.handler.handler`; it never loads
the image engine, aioboto3 or anything else a user would wait for at cold start.
"""
