"""Queues (the seeds' Services): the one place a queue's service state changes."""
