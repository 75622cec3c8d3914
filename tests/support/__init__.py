"""Helpers the tests share: servers, stubs, fixtures' building blocks (no tests here)."""
