"""Locust scenarios (locustfiles): flash-sale rush, live-room load, host console activity.

Run them through ``livesale-bench loadtest`` (which starts everything and writes a report), or by
hand with ``locust -f loadtests/scenarios/<file>.py`` and the ``LOADTEST_*`` variables that
``common.py`` reads (docs/loadtests.md).
"""
