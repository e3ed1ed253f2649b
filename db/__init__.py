"""Schema of the budget knowledge base and the loading of source documents into it."""
