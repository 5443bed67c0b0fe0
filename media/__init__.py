"""Image probing and processing, metadata, the no-AI policy and storage backends.

Never imports cara_fed, quart or tortoise (see DESIGN.md section 2).
"""
