"""Host accounts: passwords, browser sessions, API tokens and the login guard."""
