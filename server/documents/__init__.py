"""Document data: the spool (spool.py), the one-time HTTPS slots (slots.py), and documents
fetched by reference (by_reference.py over uri_fetch.py)."""
