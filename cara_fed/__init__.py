"""cara_fed: an ActivityPub server for artists."""

__version__ = "0.1.0"
