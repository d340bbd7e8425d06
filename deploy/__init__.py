"""Deploying and operating imgpipe: the operator CLI, local stack, Terraform and packaging."""
