"""Durable jobs (DESIGN.md section 4): one table, claimed with a lease, retried with backoff, dead-lettered.

- :mod:`registry`: job kinds, their handlers and retry policies.
- :mod:`queue`: enqueue (inside the caller's transaction), claim, heartbeat, finish.
- :mod:`runner`: the loop that runs claimed jobs (in `serve` or in a standalone `worker`).
"""
