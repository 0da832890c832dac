"""Review tasks and decisions live here (see the review issue)."""
