"""Jobs: the one place their states change (states.py), how they come in (intake.py,
closing.py), the steps operations share (actions.py), their order (schedule.py), their
tickets (tickets.py), what is kept of them (retention.py) and the periodic duties
(housekeeping.py)."""
