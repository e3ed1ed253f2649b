"""Budget question-answering assistant: answering core and its channels."""
