"""Sources -> items: file loaders, chunking and content hashing."""
