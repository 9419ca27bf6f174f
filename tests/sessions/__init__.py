"""Sessions: login, expiry, the middleware, policies, the engines, the async path."""
