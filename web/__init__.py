"""The staff web app (FastAPI + Jinja2): ``web.app.create_app(settings)``; pages in ``web/routes/``."""
