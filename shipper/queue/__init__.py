"""Mail queues: read them (Postfix, Exim, Sendmail, qmail), find stuck mail and explain it, act on it."""
