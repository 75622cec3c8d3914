"""Pydantic models of Kling's JSON: requests, task data, envelopes and error codes.

One definition of the wire format, shared by the server and (later) the SDK.
"""

from __future__ import annotations
