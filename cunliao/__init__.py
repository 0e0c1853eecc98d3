"""The composition root: the API (``api/``) and the browser pages (``web/``) put together, the
gunicorn entry point and the ``cunliao`` command. Nothing in engine/, api/ or web/ imports it."""
