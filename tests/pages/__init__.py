"""The HTML pages: views, notices, re-authentication, translations, the browser."""
