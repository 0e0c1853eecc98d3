"""Entry point for gunicorn: ``gunicorn cunliao.wsgi:app`` (imported by each worker after the fork)."""
from api.core.config import Settings
from api.core.limits import limit_memory

from .app import create_app

settings = Settings()
limit_memory(settings.process_memory_mb)
app = create_app(settings)
