"""Fakes of the services the bot talks to: real HTTP servers on 127.0.0.1 that record requests."""
