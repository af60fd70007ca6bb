//! Digest runs (SPEC §10): the window, the once-per-local-day row written before sending, the policy in app_settings.
