"""Accounts: users, roles, passwords, logging in and out."""
