"""The glue into django-oauth-toolkit and oauthlib (the only package that imports them for flows)."""
