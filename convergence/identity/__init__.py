"""Identity: who acts (the request's actor and context), what their role permits, how a request is authenticated.

Above core plumbing, below the domains. The models live in `convergence.accounts` (users, sessions, tokens, terms)
and `convergence.companies` (companies, memberships, per-product rights), which belong to this layer too.
"""
