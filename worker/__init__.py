"""The imgpipe worker: the Lambda handler and everything below it."""
