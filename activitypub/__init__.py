"""ActivityPub protocol library: vocabulary, keys, HTTP signatures, signed fetch and delivery.

Never imports cara_fed, quart or tortoise (see DESIGN.md section 2): it takes primitives and callbacks.
"""
