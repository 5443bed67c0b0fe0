"""Use cases. Services never touch the request and never build ActivityStreams JSON (DESIGN.md section 2)."""
