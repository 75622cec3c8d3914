"""Generation engines behind one protocol, chosen per ``model_name`` by configuration."""

from __future__ import annotations
