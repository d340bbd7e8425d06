"""Packaging: the Lambda artifact (`lambda_zip`)."""
