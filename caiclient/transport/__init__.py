"""Transports: HTTP (``requests``-compatible) and the chat websocket."""
