"""gunicorn's settings for every way Cunliao is served (``gunicorn -c python:cunliao.gunicorn_conf``):
its own log lines in the app's format (JSON by default), and no access log of its own, since the app
logs one line per request with the route and the request id, but never the query string."""
import os

from api.core.logs import logging_config

logconfig_dict = logging_config(os.environ.get("LOG_FORMAT", "json"))
accesslog = None
graceful_timeout = 10  # SIGTERM: requests in flight get this long to finish
# gunicorn 27's control socket sits at one path per user: two nodes on a host would fight over it.
control_socket_disable = True
