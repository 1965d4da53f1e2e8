"""The side-by-side benchmark: ``python -m bench`` (``make bench``).

This project, the framework limit (``bench.limit_app``) and a plain CRUD peer
(``bench.crud_peer``) run under gunicorn with the same settings, and wrk loads each in
alternating rounds on 127.0.0.1. Then the project and the peer on PostgreSQL, the
project's writes with webhook subscriptions delivering beside none, and the project at
1,000,000 events (``bench.phases``). See ``python -m bench --help``.
"""
