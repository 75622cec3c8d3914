"""Task status callbacks: the outbox written with each status change, and its sender."""
