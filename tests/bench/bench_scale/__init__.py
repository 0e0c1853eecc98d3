"""The scale benchmark (``make bench-scale``, issue #19): a seeded city of ten years built on the
configured database (``build``: organisation and census in bulk, cases by the engine), then measured
through the real HTTP API (``measure``); one JSON line (``report``). See README "Scale benchmark"."""
