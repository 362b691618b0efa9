"""The scheduler: filter and score nodes for each unscheduled Pod, then bind (see ``scheduler.py``)."""
