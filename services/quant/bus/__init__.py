"""Event bus: the port, the Kafka and in-process adapters, topic registry and codecs."""
