"""Notifications: what happened while a user was away (the centre, its count in the header) and their e-mail
preferences (immediately, daily digest, never), honoured by the mail outbox."""
