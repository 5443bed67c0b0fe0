"""WebFinger, host-meta and NodeInfo: acct: parsing, documents, and the client lookup.

Never imports cara_fed, quart or tortoise (see DESIGN.md section 2).
"""
