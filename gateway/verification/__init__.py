"""Verification as small independent checks ("fragments") combined into a verdict that says which
check failed and why. The fragments read the chain directly, so a verdict never rests on the
gateway's database alone; where the database disagrees with the chain, that is reported as tampering.
"""
