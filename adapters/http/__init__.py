"""The Falcon HTTP adapter: ``app.create_app`` builds the WSGI application."""
