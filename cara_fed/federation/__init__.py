"""ActivityPub inside the app: converters, inbox handlers, fan-out, the remote actor and key cache."""
