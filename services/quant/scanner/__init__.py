"""The momentum scanner (Scout): ranked picks of the equity universe every few minutes."""
