"""Mon Espace Santé referencing: a vendor's application for a step, ANS verification per chapter, decision."""
