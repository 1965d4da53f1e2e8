"""The Milestones domain: the aggregate, its ids and the application service."""
