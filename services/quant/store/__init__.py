"""Stores: tick store (QuestDB, embedded) and relational store (PostgreSQL, embedded)."""
