"""The browser UI: server-rendered pages (Jinja) that load one esbuild bundle each and talk to /api/v1."""
