"""HTTP routes that are not the client API: health, ActivityPub, well-known, media, HTML and admin pages."""
