"""Entry point for gunicorn: ``gunicorn api.wsgi:app`` (imported by each worker after the fork)."""
from .app import create_app
from .config import Settings
from .limits import limit_memory

settings = Settings()
limit_memory(settings.process_memory_mb)
app = create_app(settings)
