"""Opaque server-side sessions for single-page apps that sign in with Auth0."""
