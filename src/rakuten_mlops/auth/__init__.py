"""Users, roles, API tokens, the audit log, the encrypted settings store and alert delivery.

Roles are ordered ``viewer < operator < admin`` (``roles``); users and their argon2-hashed
passwords and SHA-256-hashed personal tokens live in ``users`` and ``api_tokens`` (``users``,
``tokens``); every change is written to ``audit_log`` (``audit``); the settings entered in the
control room live in ``settings``, secrets encrypted with ``SECRET_KEY`` (``settings_store``);
alerts are posted to the configured webhooks (``notify``). Nothing is imported here: the modules
are imported where they are used.
"""
