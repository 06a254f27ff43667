"""The question bank: models, loading, checks and import."""

from interviewer.bank.loader import Bank, load_bank
from interviewer.bank.models import BankEntry, ExpectedPoint, FollowUp, Question, Rubric

__all__ = ["Bank", "BankEntry", "ExpectedPoint", "FollowUp", "Question", "Rubric", "load_bank"]
