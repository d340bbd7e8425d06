"""Tools that measure and stress imgpipe, one package each: `load` (locust through the whole
pipeline: `python -m loadtest.run`), `chaos` (faults, kills and duplicates against the local
stack: `python -m loadtest.chaos`), `hostile` (a corpus of hostile files through the engine:
`python -m loadtest.hostile`) and `bench` (the engine against Pillow and the handler:
`python -m loadtest.bench`)."""
