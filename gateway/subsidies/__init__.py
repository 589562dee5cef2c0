"""Subsidies: policies, applications with reduced materials, review, notice, payout, use, trace."""
