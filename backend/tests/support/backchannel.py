"""The back-channel logout endpoint as a test reaches it."""

CLIENT_ID = "spa-client-id"
PATH = "/api/sessions/backchannel-logout/"
