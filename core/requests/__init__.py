"""Disclosure requests (依申请公开): deadlines, workflow, letters, records."""
