"""`make bench`: the engine against a careful Pillow baseline (`pillow_baseline`) and the handler
against the engine (`handler`), side by side, round by round (`run`)."""
