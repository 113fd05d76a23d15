"""Accounting (what users, groups and queues used, from the job_usage table) and quotas
(limits per user or group and period, checked when a job is created)."""
