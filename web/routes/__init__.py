"""Route modules: each defines ``router`` (an ``APIRouter``) and optionally ``NAV`` (``web.render.NavItem``s).
``web.app.create_app`` includes every module here, in name order."""
