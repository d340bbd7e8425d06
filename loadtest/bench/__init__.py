"""`make bench`: the engine against a careful Pillow baseline (`pillow_baseline`) and the handler
against the engine (`handler`), each strategy timed in a fresh process (`child`), round by round
(`rounds`), then the table and the summary line (`report`); `run` is the command."""
