"""Gateway authentication: signed bearer tokens and password hashing."""
