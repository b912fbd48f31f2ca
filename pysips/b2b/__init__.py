"""pysips.b2b: the B2BUA engine (OpenSIPS b2b_entities + b2b_logic).

``engine.B2BEngine(core, script)`` is attached to the core by ``pysips.modules.b2b_logic.start_service``; the
core hands it every message first (``on_request`` / ``on_response``). ``entities`` holds the dialog legs and
their keys, ``logic`` the tuples and b2b_init_request flags.
"""
