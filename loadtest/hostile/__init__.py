"""The hostile corpus: files built to crash, hang or exhaust a decoder (`corpus`), each run
through the worker's render step in a child process under a memory budget (`run`)."""
