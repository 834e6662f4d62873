"""A durable job queue in the database (issue: imports on deadline day). See ``queue``."""
