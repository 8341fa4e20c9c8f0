"""The stock keeper's Lua scripts: one ``.lua`` file per atomic operation, and one typed
async wrapper per script that passes its keys in KEYS and decodes its reply.

- ``loader.py``: reads and registers Lua shipped in any package (the rooms' scripts too);
- ``registry.py``: every stock script registered on one client (``Scripts``);
- ``offers.py``: create, open, pause/resume/close and restock an offer (or a bucket);
- ``holds.py``: reserve, confirm, cancel and expire holds;
- ``buckets.py``: move units between the buckets of a hot offer, and sync their state.

Only the wrappers read a script's reply; everything else gets a small frozen result.
"""
