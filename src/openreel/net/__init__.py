"""Outbound HTTP to user-supplied URLs (image URLs, callback URLs): the SSRF guard."""
