"""The web app: app factory, authentication, page shell and static files."""
