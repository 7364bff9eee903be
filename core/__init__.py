"""The bottom layer: configuration, database, models, the WeChat protocol and API client, and the
services (requests, notices, outbox) that every upper package uses. Imports nothing above it."""
