"""The built-in offline provider: a deterministic responder, served in process or on loopback."""
