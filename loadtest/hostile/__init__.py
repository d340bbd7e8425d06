"""The hostile corpus: files built to crash, hang or exhaust a decoder (`corpus`, damaged at the
byte level by `tamper`), each run through the worker's render step in a forked child under a
memory budget and a time limit (`sandbox`); `run` is the command and its table."""
