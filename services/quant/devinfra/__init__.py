"""Local development servers: Kafka (KRaft), QuestDB and PostgreSQL on loopback."""
