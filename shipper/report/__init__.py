"""`shipper report`: a pflogsumm-style summary of mail logs, with what only joined messages tell."""
