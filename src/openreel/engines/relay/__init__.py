"""The relay engine: tasks rendered by an upstream Kling-wire API (Kling, CometAPI, openreel),
their results copied into openreel's own store."""
