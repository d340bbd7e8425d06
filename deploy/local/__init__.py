"""The embedded AWS on one machine: a moto server in its own process, the topology Terraform
creates, Lambda's event source mapping reproduced (the poller, and `imgpipe worker` around it),
the local stack that runs them together, and the demo on top."""
