"""Who the caller is: Auth0 access-token verification, userinfo, and the dev identity provider."""
