"""The demo cohort of `make dev`: 42 made-up youths whose partners report milestones through
the HTTP API, one module per job: who is in the cohort (`cohort`), what each does next
(`behaviour`), what their milestones say (`payloads`), the keys the demo acts with (`keys`),
and the driver that goes through the API (`driver`, `python -m starter demo`).
"""
