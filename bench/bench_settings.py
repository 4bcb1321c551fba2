"""The example project's settings as the benchmarks run it (``DJANGO_SETTINGS_MODULE=bench_settings``).

Two changes, each the same for every contender measured:

* a fast password hasher (MD5) for users and client secrets, for DOT's stock endpoint as for
  ours: the example project's own hashers (PBKDF2 for users, ``ClientSecretHasher`` for client
  secrets) are measured against it in ``bench/run.py`` (``shipped_exchange``);
* a token-endpoint rate limit too high to trip (still counted on every request).

Persistent database connections (``CONN_MAX_AGE = 60``) are the example project's own setting.
"""

from example_project.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
OAUTH2_PROVIDER = {**OAUTH2_PROVIDER, "CLIENT_SECRET_HASHER": "default"}  # noqa: F405
AGENT_OBO = {**AGENT_OBO, "TOKEN_RATE_LIMIT": "1000000/min"}  # noqa: F405
