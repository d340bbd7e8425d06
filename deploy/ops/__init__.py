"""Operating a pipeline, local or on AWS alike: uploads, status, the dead-letter queue."""
