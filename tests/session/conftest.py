"""Fixtures for session tests."""

from tests.session.fakes import mini_bank, mini_root

__all__ = ["mini_bank", "mini_root"]
