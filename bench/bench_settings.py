"""The example project's settings as the benchmarks run it (``DJANGO_SETTINGS_MODULE=bench_settings``).

Three changes, each the same for every contender measured:

* persistent database connections (``CONN_MAX_AGE``), as ``docs/deployment.md`` advises;
* a fast password hasher for users and client secrets: Django's default PBKDF2 (1,000,000
  iterations) costs about 0.3 s of CPU per check on the bench machine; it would be added to
  every sign-in and every confidential client's token request and hide what is measured;
* a token-endpoint rate limit too high to trip (still counted on every request).
"""

from example_project.settings import *  # noqa: F403

DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
OAUTH2_PROVIDER = {**OAUTH2_PROVIDER, "CLIENT_SECRET_HASHER": "default"}  # noqa: F405
AGENT_OBO = {**AGENT_OBO, "TOKEN_RATE_LIMIT": "1000000/min"}  # noqa: F405
