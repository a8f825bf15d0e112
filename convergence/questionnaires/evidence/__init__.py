"""Evidence beside a questionnaire answer: a checked document or a link, with a comment (issue 18, point 5)."""
