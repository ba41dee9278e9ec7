"""Upstox V3 adapter: auth, REST client with rate limiter, feed client, instrument master."""
