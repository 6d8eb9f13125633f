"""Friday Night: round-the-clock customer service for small teams."""
