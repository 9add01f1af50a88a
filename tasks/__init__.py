"""The Celery app and thin task wrappers (`celery -A tasks worker`).

Arrives with the orchestration work; the services it will call (e.g.
`bot.services.ingest.due_source_ids` and `poll_source`) are already in place.
"""
