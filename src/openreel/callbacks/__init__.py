"""Task status callbacks: the sender of outbox events, and the log and redelivery use cases."""
