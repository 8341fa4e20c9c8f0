"""The HTTP and WebSocket layer: handler modules as peers (each with ``add_routes``), and
what they share (views, answers, auth, paths, fields, errors, responses) beside them.

Handler modules never import each other; nothing below this package imports it.
"""
