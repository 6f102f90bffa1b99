"""What every HTTP route shares: problem responses, ranges, pagination, body reading."""
