"""Learners learning from each other: discussions, notifications, moderation."""
