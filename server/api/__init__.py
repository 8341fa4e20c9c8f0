"""The HTTP and WebSocket layer: handler modules as peers (each with ``add_routes``), and
what they share beside them: bodies (request bodies as typed Structs) and decoding,
views (how things look in answers), answers (purchase outcomes, HTTP and socket alike),
auth, paths, errors (the one place errors become answers) and responses (JSON encoding).

Handler modules never import each other; nothing below this package imports it.
"""
