"""Performance and load shedding (issue 8): admission control, fair-share rate limits, the
read-replica router."""
